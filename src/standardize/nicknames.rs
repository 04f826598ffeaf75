//! Given-name equivalence: "BOB" and "ROBERT" are the same person's name.
//!
//! Each entry of `GROUPS` is one formal name with its nicknames and common
//! spelling variants. A name can sit in several groups ("AL" is short for
//! Albert, Alfred, Alan, Alexander …); two names are equivalent when they
//! share a group. Group ids are the positions in `GROUPS`, so they are stable
//! only as long as the table is only appended to.

use std::collections::HashMap;
use std::sync::LazyLock;

/// (formal name, nicknames and variants), all folded upper-case.
static GROUPS: &[(&str, &[&str])] = &[
    ("ABIGAIL", &["ABBY", "ABBIE", "ABBEY", "GAIL"]),
    ("ABRAHAM", &["ABE", "ABRAM", "BRAM"]),
    ("ADELAIDE", &["ADDIE", "ADDY", "HEIDI"]),
    ("AGNES", &["AGGIE", "NESSIE"]),
    ("ALAN", &["AL", "ALLAN", "ALLEN", "ALLYN"]),
    ("ALBERT", &["AL", "ALBIE", "BERT", "BERTIE"]),
    (
        "ALEXANDER",
        &[
            "AL", "ALEX", "ALEC", "ALECK", "ALEKS", "LEX", "SANDY", "XANDER", "SASHA",
        ],
    ),
    (
        "ALEXANDRA",
        &[
            "ALEX", "ALEXA", "ALLIE", "LEXI", "LEXIE", "SANDRA", "SANDY", "SASHA",
        ],
    ),
    (
        "ALFRED",
        &["AL", "ALF", "ALFIE", "FRED", "FREDDIE", "FREDDY"],
    ),
    ("ALICE", &["ALLIE", "ALLY", "ALI"]),
    ("ALISON", &["ALLISON", "ALLIE", "ALLY", "ALI"]),
    ("ALPHONSE", &["AL", "ALFONSO", "ALPHONSO"]),
    ("ALVIN", &["AL"]),
    ("AMANDA", &["MANDY", "MANDI", "MANDA"]),
    ("AMELIA", &["MILLIE", "MILLY", "EMILIA"]),
    ("ANDREA", &["ANDIE", "ANDI"]),
    ("ANDREW", &["ANDY", "ANDIE", "DREW"]),
    ("ANGELA", &["ANGIE"]),
    ("ANNE", &["ANN", "ANNA", "ANNIE", "NAN", "NANCY", "NANNIE"]),
    ("ANTHONY", &["TONY", "ANTONY", "ANTON", "ANT"]),
    ("ANTOINETTE", &["TONI", "NETTIE", "TONIE"]),
    ("ANTONIA", &["TONI", "TONIA", "TONYA"]),
    ("ARNOLD", &["ARNIE", "ARNY"]),
    ("ARTHUR", &["ART", "ARTIE", "ARTY"]),
    ("AUGUSTUS", &["AUGUST", "GUS", "AUGIE"]),
    ("BARBARA", &["BARB", "BARBIE", "BABS", "BARBRA", "BOBBIE"]),
    ("BARTHOLOMEW", &["BART", "BAT"]),
    ("BEATRICE", &["BEA", "BEE", "TRIXIE", "BEATRIX"]),
    ("BENEDICT", &["BEN", "BENNY"]),
    ("BENJAMIN", &["BEN", "BENNY", "BENNIE", "BENJI", "BENJY"]),
    ("BERNADETTE", &["BERNIE", "DETTE"]),
    ("BERNARD", &["BERNIE", "BERNY", "BARNEY"]),
    ("BERTRAM", &["BERT", "BERTIE", "BERTRAND"]),
    ("BRADFORD", &["BRAD"]),
    ("BRADLEY", &["BRAD"]),
    ("BRIDGET", &["BIDDY", "BRIDIE", "BRIDGETTE", "BRIGID"]),
    ("CALVIN", &["CAL"]),
    ("CAMERON", &["CAM", "CAMMIE"]),
    (
        "CAROLINE",
        &[
            "CAROLYN", "CAROL", "CAROLE", "CARRIE", "CARRI", "CARO", "CARLY", "LINA",
        ],
    ),
    ("CASSANDRA", &["CASS", "CASSIE", "SANDY"]),
    (
        "CATHERINE",
        &[
            "CATHARINE",
            "CATHRYN",
            "KATHERINE",
            "KATHARINE",
            "KATHRYN",
            "CATHY",
            "CATHIE",
            "CAT",
            "KATE",
            "KATIE",
            "KATY",
            "KATHY",
            "KAT",
            "KIT",
            "KITTY",
            "KAY",
        ],
    ),
    ("CECILIA", &["CECILY", "CECE", "CISSY", "CELIA", "SISSY"]),
    (
        "CHARLES",
        &["CHUCK", "CHARLIE", "CHARLEY", "CHAS", "CHAZ", "CHIP"],
    ),
    (
        "CHARLOTTE",
        &["CHARLIE", "CHARLEY", "CHAR", "LOTTIE", "LOTTY", "LOTTE"],
    ),
    ("CHESTER", &["CHET"]),
    ("CHRISTIAN", &["CHRIS", "KRIS", "CHRISTIAAN"]),
    (
        "CHRISTINE",
        &[
            "CHRISTINA",
            "KRISTINE",
            "KRISTINA",
            "CHRIS",
            "CHRISSY",
            "CHRISSIE",
            "KRIS",
            "KRISSY",
            "TINA",
            "CHRISTY",
            "CHRISTIE",
            "KRISTY",
            "KRISTIE",
        ],
    ),
    (
        "CHRISTOPHER",
        &[
            "CHRIS",
            "KRIS",
            "KRISTOPHER",
            "CHRISTOPH",
            "KIT",
            "TOPHER",
            "KRISTOFER",
        ],
    ),
    ("CLEMENT", &["CLEM"]),
    ("CLIFFORD", &["CLIFF"]),
    ("CONSTANCE", &["CONNIE"]),
    ("CURTIS", &["CURT", "KURT"]),
    ("CYNTHIA", &["CINDY", "CINDI", "CYNDI", "CYNDY"]),
    ("CYRUS", &["CY"]),
    ("DANIEL", &["DAN", "DANNY", "DANNIE"]),
    ("DANIELLE", &["DANI", "DANIELA", "DANNIE"]),
    ("DAVID", &["DAVE", "DAVEY", "DAVY", "DAI"]),
    ("DEBORAH", &["DEB", "DEBBIE", "DEBBY", "DEBRA", "DEBI"]),
    ("DELBERT", &["DEL", "BERT"]),
    ("DENNIS", &["DENNY", "DENIS"]),
    ("DEREK", &["DERRICK", "DERICK", "DERRIK", "DEREC"]),
    ("DIANA", &["DIANE", "DIANNE", "DI", "DEE"]),
    ("DOLORES", &["DOLLY", "LOLA", "DELORES"]),
    ("DONALD", &["DON", "DONNIE", "DONNY"]),
    (
        "DOROTHY",
        &[
            "DOROTHEA", "DOT", "DOTTIE", "DOTTY", "DOLLY", "DORA", "DOTTI",
        ],
    ),
    ("DOUGLAS", &["DOUG", "DOUGIE"]),
    ("DUSTIN", &["DUSTY"]),
    ("EDGAR", &["ED", "EDDIE", "EDDY"]),
    ("EDITH", &["EDIE", "EDY", "EDYTHE"]),
    ("EDMUND", &["ED", "EDDIE", "EDDY", "NED", "TED", "EDMOND"]),
    (
        "EDWARD",
        &["ED", "EDDIE", "EDDY", "NED", "NEDDY", "TED", "TEDDY"],
    ),
    ("EDWIN", &["ED", "EDDIE", "EDDY", "NED"]),
    (
        "ELEANOR",
        &[
            "ELEANORE", "ELINOR", "ELLIE", "ELLA", "NELL", "NELLIE", "NELLY", "NORA",
        ],
    ),
    ("ELIJAH", &["ELI", "LIJAH"]),
    ("ELIAS", &["ELI"]),
    (
        "ELIZABETH",
        &[
            "ELISABETH",
            "LIZ",
            "LIZZIE",
            "LIZZY",
            "LIZA",
            "ELIZA",
            "BETH",
            "BETSY",
            "BETSEY",
            "BETTY",
            "BETTIE",
            "BETTE",
            "BESS",
            "BESSIE",
            "LIBBY",
            "LISA",
            "LISBETH",
            "ELSIE",
            "ELISE",
        ],
    ),
    ("ELLEN", &["ELLIE", "NELL", "NELLIE", "ELLENA"]),
    ("EMILY", &["EMMY", "EMMIE", "EM", "MILLIE", "EMILIE"]),
    ("EMMA", &["EM", "EMMY", "EMMIE"]),
    ("EMMANUEL", &["EMANUEL", "MANNY"]),
    ("ERIC", &["ERIK", "RICK", "RICKY"]),
    ("ERNEST", &["ERNIE", "ERNST"]),
    ("ESTHER", &["ESSIE", "HESTER", "HETTY"]),
    ("EUGENE", &["GENE"]),
    ("EVELYN", &["EVE", "EVIE", "EVELINE"]),
    ("EZEKIEL", &["ZEKE"]),
    ("FERDINAND", &["FERDIE", "FERD"]),
    ("FLORENCE", &["FLO", "FLOSSIE", "FLORRIE", "FLOSSY"]),
    (
        "FRANCES",
        &["FRAN", "FRANNIE", "FRANCIE", "FANNY", "FANNIE", "FRANKIE"],
    ),
    ("FRANCIS", &["FRANK", "FRANKIE", "FRAN", "FRANCISCO"]),
    ("FRANKLIN", &["FRANK", "FRANKIE"]),
    (
        "FREDERICK",
        &[
            "FREDERIC", "FREDRICK", "FRED", "FREDDIE", "FREDDY", "FRITZ", "RICK",
        ],
    ),
    ("GABRIEL", &["GABE", "GABBY"]),
    (
        "GABRIELLE",
        &["GABRIELA", "GABRIELLA", "GABBY", "GABBIE", "GABI"],
    ),
    ("GERALD", &["GERRY", "JERRY", "JERALD"]),
    ("GERALDINE", &["GERRY", "GERRI", "GERI", "JERRI"]),
    ("GERTRUDE", &["GERTIE", "TRUDY", "TRUDIE", "TRUDI"]),
    ("GILBERT", &["GIL", "BERT"]),
    ("GREGORY", &["GREG", "GREGG"]),
    ("GWENDOLYN", &["GWEN", "WENDY", "GWENDOLINE"]),
    ("HAROLD", &["HAL", "HARRY", "HARALD"]),
    ("HARRIET", &["HARRIETT", "HATTIE", "HATTY"]),
    ("HELEN", &["HELENA", "NELL", "NELLIE", "NELLY"]),
    ("HENRY", &["HANK", "HARRY", "HAL", "HEN", "HENRI"]),
    ("HERBERT", &["HERB", "HERBIE", "BERT"]),
    ("HOWARD", &["HOWIE"]),
    ("HUBERT", &["HUBIE", "BERT"]),
    ("IGNATIUS", &["IGGY"]),
    ("IRVING", &["IRV"]),
    ("ISAAC", &["IKE", "IZZY"]),
    (
        "ISABEL",
        &[
            "ISABELLA", "ISABELLE", "ISOBEL", "IZZY", "IZZIE", "ISSY", "BELLA", "BELLE",
        ],
    ),
    ("JACOB", &["JAKE", "JAKEY", "COBY", "JAKOB"]),
    (
        "JACQUELINE",
        &["JACKIE", "JACKY", "JACKI", "JACQUI", "JACQUELYN"],
    ),
    (
        "JAMES",
        &["JIM", "JIMMY", "JIMMIE", "JAMIE", "JAMEY", "JIMBO", "JEM"],
    ),
    ("JANE", &["JANIE", "JANEY", "JAN", "JENNY"]),
    ("JANET", &["JAN", "JANNIE", "JANETTE", "NETTIE"]),
    (
        "JEFFREY",
        &["JEFF", "JEFFERY", "GEOFFREY", "GEOFF", "JEFFRY"],
    ),
    ("JENNIFER", &["JEN", "JENN", "JENNY", "JENNIE", "JENNA"]),
    ("JEREMIAH", &["JERRY", "JEREMY"]),
    ("JEREMY", &["JERRY", "JEM", "JEREMIAH"]),
    ("JEROME", &["JERRY"]),
    ("JESSICA", &["JESS", "JESSIE", "JESSY"]),
    ("JOANNA", &["JOANNE", "JOANN", "JOHANNA", "JOANIE", "JO"]),
    (
        "JOHN",
        &[
            "JACK", "JACKIE", "JOHNNY", "JOHNNIE", "JON", "JONNY", "JOCK",
        ],
    ),
    ("JONATHAN", &["JON", "JONNY", "JOHNNY", "JONATHON", "NATE"]),
    ("JOSEPH", &["JOE", "JOEY", "JOS", "JODY"]),
    ("JOSEPHINE", &["JO", "JOSIE", "JOSEY", "JOEY", "FINA"]),
    ("JOSHUA", &["JOSH"]),
    ("JUDITH", &["JUDY", "JUDIE", "JUDI", "JODY", "JUDE"]),
    ("JULIA", &["JULIE", "JULES", "JULIET"]),
    (
        "KATHERINE",
        &[
            "KATHARINE",
            "KATHRYN",
            "CATHERINE",
            "CATHARINE",
            "CATHRYN",
            "KATE",
            "KATIE",
            "KATY",
            "KATHY",
            "KATHIE",
            "KATHI",
            "CATHY",
            "KAT",
            "KIT",
            "KITTY",
            "KAY",
            "KAYE",
        ],
    ),
    (
        "KATHLEEN",
        &[
            "CATHLEEN",
            "KATHERINE",
            "CATHERINE",
            "KATE",
            "KATIE",
            "KATHY",
            "CATHY",
            "KAY",
        ],
    ),
    ("KENNETH", &["KEN", "KENNY", "KENNIE"]),
    ("KIMBERLY", &["KIMBERLEY", "KIM", "KIMMY", "KIMMIE"]),
    (
        "LAWRENCE",
        &["LAURENCE", "LARRY", "LAURIE", "LAWRIE", "LORENZO", "LARS"],
    ),
    ("LEONARD", &["LEN", "LENNY", "LENNIE", "LEO", "LEON"]),
    ("LEOPOLD", &["LEO", "POLDI"]),
    ("LILLIAN", &["LILIAN", "LILY", "LILLY", "LILLIE", "LIL"]),
    ("LOUIS", &["LOU", "LOUIE", "LEWIS", "LUIS"]),
    ("LOUISE", &["LOUISA", "LOU", "LULU", "LOUIE"]),
    ("LUCAS", &["LUKE", "LUKAS"]),
    ("LUCINDA", &["CINDY", "LUCY"]),
    (
        "MADELINE",
        &[
            "MADELEINE",
            "MADELYN",
            "MADALYN",
            "MADDY",
            "MADDIE",
            "MADGE",
        ],
    ),
    (
        "MARGARET",
        &[
            "MARGARETTA",
            "MAGGIE",
            "MAGGY",
            "MAGS",
            "MEG",
            "MEGGIE",
            "PEGGY",
            "PEG",
            "MARGE",
            "MARGIE",
            "MARGO",
            "MARGOT",
            "MADGE",
            "GRETA",
            "GRETCHEN",
            "DAISY",
            "RITA",
            "MAISIE",
        ],
    ),
    (
        "MARJORIE",
        &["MARJORY", "MARGERY", "MARGE", "MARGIE", "MARJ", "MARJIE"],
    ),
    ("MARTHA", &["MARTY", "MATTIE", "MATTY"]),
    ("MARTIN", &["MARTY", "MARTI"]),
    ("MARVIN", &["MARV"]),
    ("MARY", &["MOLLY", "POLLY", "MAE", "MAY", "MAMIE", "MOLLIE"]),
    (
        "MATILDA",
        &["MATHILDA", "TILLY", "TILLIE", "TILDA", "MATTIE", "MAUD"],
    ),
    ("MATTHEW", &["MATT", "MATTY", "MATHEW", "MATTHIAS"]),
    ("MAURICE", &["MO", "MAURY", "MOE"]),
    ("MAXIMILIAN", &["MAX", "MAXIE", "MAXI"]),
    ("MAXWELL", &["MAX"]),
    ("MELISSA", &["MEL", "MISSY", "LISSA", "MELLY"]),
    ("MELVIN", &["MEL"]),
    (
        "MICHAEL",
        &[
            "MIKE", "MIKEY", "MICK", "MICKY", "MICKEY", "MICKIE", "MICHEAL",
        ],
    ),
    (
        "MICHELLE",
        &["MICHELE", "SHELLY", "SHELLEY", "SHELL", "CHELLE"],
    ),
    ("MILDRED", &["MILLIE", "MILLY"]),
    ("MITCHELL", &["MITCH"]),
    ("MONTGOMERY", &["MONTY", "MONTE"]),
    ("MORTIMER", &["MORT", "MORTY"]),
    ("MORTON", &["MORT", "MORTY"]),
    ("MOSES", &["MOE", "MOSE"]),
    ("NATHAN", &["NATE", "NAT"]),
    (
        "NATHANIEL",
        &["NATHANAEL", "NATE", "NAT", "NATHAN", "NATTY"],
    ),
    (
        "NICHOLAS",
        &[
            "NICOLAS", "NIKOLAS", "NICKOLAS", "NICK", "NICKY", "NICKIE", "NIC", "NIK",
        ],
    ),
    (
        "NICOLE",
        &["NICOLA", "NIKKI", "NICKI", "NIKI", "NICKY", "NICKIE"],
    ),
    ("NORMAN", &["NORM"]),
    ("OLIVER", &["OLLIE", "OLLY", "NOLL"]),
    ("OLIVIA", &["LIV", "LIVVY", "OLLIE", "LIVIA"]),
    ("OSWALD", &["OZZIE", "OZZY", "OZ"]),
    ("PAMELA", &["PAM", "PAMMY"]),
    (
        "PATRICIA",
        &[
            "PAT", "PATTY", "PATTI", "PATSY", "TRICIA", "TRISH", "TRISHA",
        ],
    ),
    ("PATRICK", &["PAT", "PADDY", "PATSY"]),
    ("PENELOPE", &["PENNY", "PENNIE"]),
    ("PERCIVAL", &["PERCY"]),
    ("PETER", &["PETE", "PETEY"]),
    ("PHILIP", &["PHILLIP", "PHIL", "PIP", "FILIP"]),
    ("PRISCILLA", &["CILLA", "PRISSY", "PRISSIE"]),
    ("RANDALL", &["RANDAL", "RANDY", "RANDI"]),
    ("RANDOLPH", &["RANDOLF", "RANDY", "DOLPH"]),
    ("RAPHAEL", &["RAFE", "RAFI", "RAFAEL"]),
    ("RAYMOND", &["RAY"]),
    ("REBECCA", &["REBEKAH", "BECKY", "BECCA", "BECKIE", "REBA"]),
    ("REGINALD", &["REG", "REGGIE", "REGGY"]),
    (
        "RICHARD",
        &[
            "RICK", "RICKY", "RICKIE", "RICH", "RICHIE", "RICHY", "DICK", "DICKY", "DICKIE", "RICO",
        ],
    ),
    (
        "ROBERT",
        &[
            "ROB", "ROBBIE", "ROBBY", "BOB", "BOBBY", "BOBBIE", "BERT", "ROBIN", "RUPERT",
        ],
    ),
    ("RODNEY", &["ROD", "RODDY"]),
    ("RONALD", &["RON", "RONNIE", "RONNY"]),
    ("ROSALIND", &["ROS", "ROZ", "ROSIE", "ROSALYN"]),
    ("ROSE", &["ROSIE", "ROSY", "ROSA"]),
    ("ROSEMARY", &["ROSEMARIE", "ROSE", "ROSIE"]),
    ("ROXANNE", &["ROXANA", "ROXY", "ROXIE"]),
    ("RUDOLPH", &["RUDOLF", "RUDY", "RUDI", "DOLPH"]),
    ("RUSSELL", &["RUSS", "RUSTY"]),
    ("SAMANTHA", &["SAM", "SAMMY", "SAMMIE"]),
    ("SAMUEL", &["SAM", "SAMMY", "SAMMIE"]),
    ("SANDRA", &["SANDY", "SANDI", "SANDIE", "SONDRA"]),
    ("SARAH", &["SARA", "SALLY", "SALLIE", "SADIE"]),
    ("SEBASTIAN", &["SEB", "SEBBY", "BASTIAN"]),
    ("SIDNEY", &["SYDNEY", "SID", "SYD"]),
    ("SOLOMON", &["SOL", "SOLLY"]),
    ("SOPHIA", &["SOPHIE", "SOPHY", "SOFIA"]),
    ("STANLEY", &["STAN"]),
    (
        "STEPHANIE",
        &["STEFANIE", "STEPH", "STEFFI", "STEFFIE", "STEVIE"],
    ),
    (
        "STEPHEN",
        &["STEVEN", "STEFAN", "STEPHAN", "STEVE", "STEVIE"],
    ),
    (
        "SUSAN",
        &[
            "SUSANNA", "SUSANNAH", "SUSANNE", "SUZANNE", "SUE", "SUSIE", "SUZIE", "SUZY", "SUSY",
        ],
    ),
    ("SYLVESTER", &["SLY", "SYL", "VESTER"]),
    ("TABITHA", &["TABBY"]),
    ("TAMARA", &["TAMMY", "TAMI", "TAMMIE"]),
    ("TERENCE", &["TERRENCE", "TERRY"]),
    (
        "THERESA",
        &[
            "TERESA", "TERRI", "TERRIE", "TERRY", "TESS", "TESSA", "TESSIE", "TRACY",
        ],
    ),
    ("THADDEUS", &["THAD", "TAD"]),
    ("THEODORE", &["TED", "TEDDY", "TEDDIE", "THEO"]),
    ("THOMAS", &["TOM", "TOMMY", "TOMMIE", "THOM", "TOMAS"]),
    ("TIMOTHY", &["TIM", "TIMMY", "TIMMIE"]),
    ("TOBIAS", &["TOBY"]),
    ("VALERIE", &["VAL", "VALORIE"]),
    ("VERONICA", &["RONNIE", "RONI", "VERA"]),
    ("VICTOR", &["VIC", "VICK"]),
    (
        "VICTORIA",
        &["VICKY", "VICKI", "VICKIE", "VIKKI", "VIC", "TORI", "TORY"],
    ),
    ("VINCENT", &["VINCE", "VINNY", "VINNIE"]),
    ("VIRGINIA", &["GINNY", "GINGER", "JINNY", "VIRGIE"]),
    ("WALLACE", &["WALLY"]),
    ("WALTER", &["WALT", "WALLY"]),
    ("WILFRED", &["WILFRID", "WILF", "WILL", "WILLIE", "FRED"]),
    ("WILHELMINA", &["WILMA", "MINNIE", "MINA", "BILLIE"]),
    (
        "WILLIAM",
        &[
            "BILL", "BILLY", "BILLIE", "WILL", "WILLY", "WILLIE", "WILLS", "LIAM",
        ],
    ),
    ("WINIFRED", &["WINNIE", "WINNY", "FREDA", "FREDDIE"]),
    ("ZACHARY", &["ZACH", "ZACK", "ZAK", "ZACHARIAH", "ZACHERY"]),
    ("ZEBULON", &["ZEB"]),
];

/// Name → ids of the groups it belongs to, ascending. Built once.
static INDEX: LazyLock<HashMap<&'static str, Box<[u16]>>> = LazyLock::new(|| {
    let mut map: HashMap<&'static str, Vec<u16>> = HashMap::with_capacity(GROUPS.len() * 6);
    for (id, (formal, nicknames)) in GROUPS.iter().enumerate() {
        // GROUPS is far shorter than u16::MAX (checked by a test).
        let id = id as u16;
        for name in std::iter::once(formal).chain(nicknames.iter()) {
            let ids = map.entry(name).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    map.into_iter()
        .map(|(name, ids)| (name, ids.into_boxed_slice()))
        .collect()
});

/// Ids of the formal-name groups `name_folded` belongs to (a formal name is in
/// its own group), ascending; empty for a name the table does not know.
/// Expects `fold`ed input: "BOB", not "Bob".
pub fn nickname_groups(name_folded: &str) -> &'static [u16] {
    match INDEX.get(name_folded) {
        Some(ids) => ids,
        None => &[],
    }
}

/// The formal name of a group id from [`nickname_groups`].
pub fn group_formal_name(id: u16) -> Option<&'static str> {
    GROUPS.get(usize::from(id)).map(|(formal, _)| *formal)
}

/// Whether two folded given names can be the same person's: equal, or
/// sharing a nickname group ("BOB" ~ "ROBERT", "BOB" ~ "ROB", "AL" ~
/// "ALFRED"). Empty names are never equivalent.
pub fn are_nickname_equivalent(a_folded: &str, b_folded: &str) -> bool {
    if a_folded.is_empty() || b_folded.is_empty() {
        return false;
    }
    if a_folded == b_folded {
        return true;
    }
    let (a, b) = (nickname_groups(a_folded), nickname_groups(b_folded));
    // Both lists are ascending: a merge walk finds a common id without
    // allocating.
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_pairs_are_equivalent() {
        let pairs = [
            ("BOB", "ROBERT"),
            ("ROBBIE", "ROBERT"),
            ("BOBBY", "ROB"),
            ("BILL", "WILLIAM"),
            ("LIAM", "WILLIAM"),
            ("BILLY", "WILL"),
            ("DICK", "RICHARD"),
            ("RICKY", "RICH"),
            ("PEGGY", "MARGARET"),
            ("MAGGIE", "MEG"),
            ("LIZ", "ELIZABETH"),
            ("BETSY", "BETH"),
            ("ELIZA", "LIZZIE"),
            ("BETTY", "ELIZABETH"),
            ("KATE", "KATHERINE"),
            ("KATHY", "CATHERINE"),
            ("CATHY", "KATHLEEN"),
            ("KATHERINE", "CATHERINE"),
            ("KATIE", "KATHLEEN"),
            ("JIM", "JAMES"),
            ("JAMIE", "JIMMY"),
            ("JACK", "JOHN"),
            ("JOHNNY", "JOHN"),
            ("CHUCK", "CHARLES"),
            ("CHARLIE", "CHARLES"),
            ("TONY", "ANTHONY"),
            ("SUE", "SUSAN"),
            ("PATSY", "PATRICIA"),
            ("TED", "EDWARD"),
            ("TED", "THEODORE"),
        ];
        for (a, b) in pairs {
            assert!(are_nickname_equivalent(a, b), "{a} ~ {b}");
            assert!(are_nickname_equivalent(b, a), "{b} ~ {a}");
        }
    }

    #[test]
    fn different_people_are_not_equivalent() {
        let pairs = [
            ("ROBERT", "RICHARD"),
            ("BOB", "BILL"),
            ("ALFRED", "ALBERT"),
            ("JOHN", "JAMES"),
            ("MARY", "MARGARET"),
            ("EDWARD", "THEODORE"),
            ("KATE", "MARGARET"),
            ("ZORBA", "ROBERT"),
        ];
        for (a, b) in pairs {
            assert!(!are_nickname_equivalent(a, b), "{a} !~ {b}");
        }
    }

    #[test]
    fn shared_nickname_belongs_to_several_groups() {
        let al = nickname_groups("AL");
        let formals: Vec<&str> = al.iter().filter_map(|&id| group_formal_name(id)).collect();
        for f in ["ALBERT", "ALFRED", "ALAN", "ALEXANDER"] {
            assert!(
                formals.contains(&f),
                "AL should be short for {f}: {formals:?}"
            );
        }
        assert!(are_nickname_equivalent("AL", "ALFRED"));
        assert!(are_nickname_equivalent("AL", "ALAN"));
        assert!(are_nickname_equivalent("ALLEN", "ALAN"));
    }

    #[test]
    fn formal_name_is_in_its_own_group() {
        for (id, (formal, _)) in GROUPS.iter().enumerate() {
            assert!(
                nickname_groups(formal).contains(&(id as u16)),
                "{formal} must be in group {id}"
            );
        }
    }

    #[test]
    fn identical_names_are_equivalent_even_when_unknown() {
        assert!(are_nickname_equivalent("XOCHITL", "XOCHITL"));
        assert!(!are_nickname_equivalent("", ""));
        assert!(!are_nickname_equivalent("", "BOB"));
    }

    #[test]
    fn unknown_and_unfolded_names_have_no_groups() {
        assert!(nickname_groups("XOCHITL").is_empty());
        assert!(nickname_groups("").is_empty());
        // The contract is folded input; "Bob" is not folded.
        assert!(nickname_groups("Bob").is_empty());
        assert!(!nickname_groups("BOB").is_empty());
    }

    #[test]
    fn group_lists_are_ascending_and_unique() {
        for name in ["AL", "TED", "KATE", "RICK", "CHRIS", "ROBERT"] {
            let ids = nickname_groups(name);
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{name}: {ids:?}");
        }
    }

    #[test]
    fn table_is_folded_upper_case_and_small_enough_for_u16_ids() {
        assert!(GROUPS.len() < usize::from(u16::MAX));
        for (formal, nicknames) in GROUPS {
            for name in std::iter::once(formal).chain(nicknames.iter()) {
                assert!(
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase()),
                    "{name:?} in {formal}"
                );
            }
            assert!(!nicknames.contains(formal), "{formal} lists itself");
            for (i, n) in nicknames.iter().enumerate() {
                assert!(!nicknames[..i].contains(n), "{n} twice in {formal}");
            }
        }
        let pairs: usize = GROUPS.iter().map(|(_, n)| n.len()).sum();
        assert!(pairs >= 300, "only {pairs} nickname pairs");
    }

    #[test]
    fn group_formal_name_out_of_range_is_none() {
        assert_eq!(group_formal_name(u16::MAX), None);
        assert_eq!(group_formal_name(0), Some(GROUPS[0].0));
    }
}
