//! Street addresses, cities, regions and countries in a USPS-like standard
//! form: upper-case ASCII, punctuation removed, suffixes, directionals and
//! unit designators abbreviated (USPS Publication 28).

use super::fold::fold;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreetAddress {
    /// The whole standardised line without the unit: "123 MAIN ST".
    pub line: String,
    /// House number: "123", "12A", "12-14", "12 1/2".
    pub number: Option<String>,
    /// Street name with suffix and directionals: "MAIN ST".
    pub street: Option<String>,
    /// Secondary unit: "APT 4B", "STE 200".
    pub unit: Option<String>,
}

/// How a secondary unit designator is used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    /// Takes a value and is never a street word ("APT 4", "SUITE 200").
    Clear,
    /// Takes a value but is also an ordinary word ("LOT", "PIER", "KEY"):
    /// only recognised after the house number and street.
    Ambiguous,
    /// Stands alone ("REAR", "BASEMENT").
    NoValue,
}

/// Unit designators: (spelling, USPS abbreviation, kind). Sorted.
static UNITS: &[(&str, &str, UnitKind)] = &[
    ("APARTMENT", "APT", UnitKind::Clear),
    ("APT", "APT", UnitKind::Clear),
    ("BASEMENT", "BSMT", UnitKind::NoValue),
    ("BLDG", "BLDG", UnitKind::Clear),
    ("BSMT", "BSMT", UnitKind::NoValue),
    ("BUILDING", "BLDG", UnitKind::Clear),
    ("DEPARTMENT", "DEPT", UnitKind::Clear),
    ("DEPT", "DEPT", UnitKind::Clear),
    ("FL", "FL", UnitKind::Clear),
    ("FLAT", "FLAT", UnitKind::Clear),
    ("FLOOR", "FL", UnitKind::Clear),
    ("FLR", "FL", UnitKind::Clear),
    ("FRNT", "FRNT", UnitKind::NoValue),
    ("FRONT", "FRNT", UnitKind::NoValue),
    ("HANGAR", "HNGR", UnitKind::Ambiguous),
    ("HNGR", "HNGR", UnitKind::Clear),
    ("KEY", "KEY", UnitKind::Ambiguous),
    ("LBBY", "LBBY", UnitKind::NoValue),
    ("LOBBY", "LBBY", UnitKind::NoValue),
    ("LOT", "LOT", UnitKind::Ambiguous),
    ("LOWER", "LOWR", UnitKind::NoValue),
    ("LOWR", "LOWR", UnitKind::NoValue),
    ("OFC", "OFC", UnitKind::Clear),
    ("OFFICE", "OFC", UnitKind::Clear),
    ("PENTHOUSE", "PH", UnitKind::NoValue),
    ("PH", "PH", UnitKind::NoValue),
    ("PIER", "PIER", UnitKind::Ambiguous),
    ("REAR", "REAR", UnitKind::NoValue),
    ("RM", "RM", UnitKind::Clear),
    ("ROOM", "RM", UnitKind::Clear),
    ("SIDE", "SIDE", UnitKind::NoValue),
    ("SLIP", "SLIP", UnitKind::Ambiguous),
    ("SPACE", "SPC", UnitKind::Ambiguous),
    ("SPC", "SPC", UnitKind::Clear),
    ("STE", "STE", UnitKind::Clear),
    ("STOP", "STOP", UnitKind::Ambiguous),
    ("SUITE", "STE", UnitKind::Clear),
    ("TRAILER", "TRLR", UnitKind::Clear),
    ("TRLR", "TRLR", UnitKind::Clear),
    ("UNIT", "UNIT", UnitKind::Clear),
    ("UPPER", "UPPR", UnitKind::NoValue),
    ("UPPR", "UPPR", UnitKind::NoValue),
];

/// Directionals: (spelling, abbreviation). Sorted.
static DIRECTIONALS: &[(&str, &str)] = &[
    ("E", "E"),
    ("EAST", "E"),
    ("N", "N"),
    ("NE", "NE"),
    ("NORTH", "N"),
    ("NORTHEAST", "NE"),
    ("NORTHWEST", "NW"),
    ("NW", "NW"),
    ("S", "S"),
    ("SE", "SE"),
    ("SOUTH", "S"),
    ("SOUTHEAST", "SE"),
    ("SOUTHWEST", "SW"),
    ("SW", "SW"),
    ("W", "W"),
    ("WEST", "W"),
];

/// Words in city names written abbreviated: "ST LOUIS" is "SAINT LOUIS".
static CITY_WORDS: &[(&str, &str)] = &[
    ("FT", "FORT"),
    ("MT", "MOUNT"),
    ("PT", "POINT"),
    ("ST", "SAINT"),
    ("STE", "SAINTE"),
];

/// Street suffixes from USPS Publication 28, appendix C1, plus common
/// Australian and British ones (CIRCUIT, CLOSE, PARADE …): (spelling,
/// abbreviation). Sorted.
static STREET_SUFFIXES: &[(&str, &str)] = &[
    ("ALLEE", "ALY"),
    ("ALLEY", "ALY"),
    ("ALLY", "ALY"),
    ("ALY", "ALY"),
    ("ANEX", "ANX"),
    ("ANNEX", "ANX"),
    ("ANNX", "ANX"),
    ("ANX", "ANX"),
    ("ARC", "ARC"),
    ("ARCADE", "ARC"),
    ("AV", "AVE"),
    ("AVE", "AVE"),
    ("AVEN", "AVE"),
    ("AVENU", "AVE"),
    ("AVENUE", "AVE"),
    ("AVN", "AVE"),
    ("AVNUE", "AVE"),
    ("BAYOO", "BYU"),
    ("BAYOU", "BYU"),
    ("BCH", "BCH"),
    ("BEACH", "BCH"),
    ("BEND", "BND"),
    ("BLF", "BLF"),
    ("BLUF", "BLF"),
    ("BLUFF", "BLF"),
    ("BLVD", "BLVD"),
    ("BND", "BND"),
    ("BOUL", "BLVD"),
    ("BOULEVARD", "BLVD"),
    ("BOULV", "BLVD"),
    ("BR", "BR"),
    ("BRANCH", "BR"),
    ("BRDGE", "BRG"),
    ("BRG", "BRG"),
    ("BRIDGE", "BRG"),
    ("BRK", "BRK"),
    ("BRNCH", "BR"),
    ("BROOK", "BRK"),
    ("BYP", "BYP"),
    ("BYPA", "BYP"),
    ("BYPAS", "BYP"),
    ("BYPASS", "BYP"),
    ("BYPS", "BYP"),
    ("BYU", "BYU"),
    ("CAMP", "CP"),
    ("CANYN", "CYN"),
    ("CANYON", "CYN"),
    ("CAUSEWAY", "CSWY"),
    ("CAUSWA", "CSWY"),
    ("CCT", "CCT"),
    ("CEN", "CTR"),
    ("CENT", "CTR"),
    ("CENTER", "CTR"),
    ("CENTR", "CTR"),
    ("CENTRE", "CTR"),
    ("CIR", "CIR"),
    ("CIRC", "CIR"),
    ("CIRCL", "CIR"),
    ("CIRCLE", "CIR"),
    ("CIRCUIT", "CCT"),
    ("CL", "CL"),
    ("CLB", "CLB"),
    ("CLF", "CLF"),
    ("CLFS", "CLFS"),
    ("CLIFF", "CLF"),
    ("CLIFFS", "CLFS"),
    ("CLOSE", "CL"),
    ("CLUB", "CLB"),
    ("CMN", "CMN"),
    ("CMP", "CP"),
    ("CNTER", "CTR"),
    ("CNTR", "CTR"),
    ("CNYN", "CYN"),
    ("COMMON", "CMN"),
    ("COR", "COR"),
    ("CORNER", "COR"),
    ("CORNERS", "CORS"),
    ("CORS", "CORS"),
    ("COURSE", "CRSE"),
    ("COURT", "CT"),
    ("COURTS", "CTS"),
    ("COVE", "CV"),
    ("CP", "CP"),
    ("CRCL", "CIR"),
    ("CRCLE", "CIR"),
    ("CREEK", "CRK"),
    ("CRES", "CRES"),
    ("CRESCENT", "CRES"),
    ("CREST", "CRST"),
    ("CRK", "CRK"),
    ("CROSSING", "XING"),
    ("CROSSROAD", "XRD"),
    ("CRSE", "CRSE"),
    ("CRSENT", "CRES"),
    ("CRSNT", "CRES"),
    ("CRSSNG", "XING"),
    ("CRST", "CRST"),
    ("CRT", "CT"),
    ("CSWY", "CSWY"),
    ("CT", "CT"),
    ("CTR", "CTR"),
    ("CTS", "CTS"),
    ("CV", "CV"),
    ("CYN", "CYN"),
    ("DALE", "DL"),
    ("DAM", "DM"),
    ("DIV", "DV"),
    ("DIVIDE", "DV"),
    ("DL", "DL"),
    ("DM", "DM"),
    ("DR", "DR"),
    ("DRIV", "DR"),
    ("DRIVE", "DR"),
    ("DRV", "DR"),
    ("DV", "DV"),
    ("DVD", "DV"),
    ("ESP", "ESP"),
    ("ESPLANADE", "ESP"),
    ("EST", "EST"),
    ("ESTATE", "EST"),
    ("ESTATES", "ESTS"),
    ("ESTS", "ESTS"),
    ("EXP", "EXPY"),
    ("EXPR", "EXPY"),
    ("EXPRESS", "EXPY"),
    ("EXPRESSWAY", "EXPY"),
    ("EXPW", "EXPY"),
    ("EXPY", "EXPY"),
    ("EXT", "EXT"),
    ("EXTENSION", "EXT"),
    ("EXTN", "EXT"),
    ("EXTNSN", "EXT"),
    ("FALLS", "FLS"),
    ("FERRY", "FRY"),
    ("FIELD", "FLD"),
    ("FIELDS", "FLDS"),
    ("FLAT", "FLT"),
    ("FLD", "FLD"),
    ("FLDS", "FLDS"),
    ("FLS", "FLS"),
    ("FLT", "FLT"),
    ("FORD", "FRD"),
    ("FOREST", "FRST"),
    ("FORESTS", "FRST"),
    ("FORK", "FRK"),
    ("FORT", "FT"),
    ("FRD", "FRD"),
    ("FREEWAY", "FWY"),
    ("FREEWY", "FWY"),
    ("FRK", "FRK"),
    ("FRRY", "FRY"),
    ("FRST", "FRST"),
    ("FRT", "FT"),
    ("FRWAY", "FWY"),
    ("FRWY", "FWY"),
    ("FRY", "FRY"),
    ("FT", "FT"),
    ("FWY", "FWY"),
    ("GARDEN", "GDN"),
    ("GARDENS", "GDNS"),
    ("GARDN", "GDN"),
    ("GATEWAY", "GTWY"),
    ("GATEWY", "GTWY"),
    ("GATWAY", "GTWY"),
    ("GDN", "GDN"),
    ("GDNS", "GDNS"),
    ("GLEN", "GLN"),
    ("GLN", "GLN"),
    ("GRDEN", "GDN"),
    ("GRDN", "GDN"),
    ("GRDNS", "GDNS"),
    ("GREEN", "GRN"),
    ("GRN", "GRN"),
    ("GROV", "GRV"),
    ("GROVE", "GRV"),
    ("GRV", "GRV"),
    ("GTWAY", "GTWY"),
    ("GTWY", "GTWY"),
    ("HARB", "HBR"),
    ("HARBOR", "HBR"),
    ("HARBOUR", "HBR"),
    ("HARBR", "HBR"),
    ("HAVEN", "HVN"),
    ("HBR", "HBR"),
    ("HEIGHTS", "HTS"),
    ("HIGHWAY", "HWY"),
    ("HIGHWY", "HWY"),
    ("HILL", "HL"),
    ("HILLS", "HLS"),
    ("HIWAY", "HWY"),
    ("HIWY", "HWY"),
    ("HL", "HL"),
    ("HLLW", "HOLW"),
    ("HLS", "HLS"),
    ("HOLLOW", "HOLW"),
    ("HOLLOWS", "HOLW"),
    ("HOLW", "HOLW"),
    ("HOLWS", "HOLW"),
    ("HRBOR", "HBR"),
    ("HT", "HTS"),
    ("HTS", "HTS"),
    ("HVN", "HVN"),
    ("HWAY", "HWY"),
    ("HWY", "HWY"),
    ("IS", "IS"),
    ("ISLAND", "IS"),
    ("ISLND", "IS"),
    ("JCT", "JCT"),
    ("JCTION", "JCT"),
    ("JCTN", "JCT"),
    ("JUNCTION", "JCT"),
    ("JUNCTN", "JCT"),
    ("JUNCTON", "JCT"),
    ("KEY", "KY"),
    ("KNL", "KNL"),
    ("KNOL", "KNL"),
    ("KNOLL", "KNL"),
    ("KY", "KY"),
    ("LAKE", "LK"),
    ("LAKES", "LKS"),
    ("LANDING", "LNDG"),
    ("LANE", "LN"),
    ("LK", "LK"),
    ("LKS", "LKS"),
    ("LN", "LN"),
    ("LNDG", "LNDG"),
    ("LNDNG", "LNDG"),
    ("LOOP", "LOOP"),
    ("LOOPS", "LOOP"),
    ("MALL", "MALL"),
    ("MANOR", "MNR"),
    ("MDW", "MDW"),
    ("MDWS", "MDWS"),
    ("MEADOW", "MDW"),
    ("MEADOWS", "MDWS"),
    ("MEDOWS", "MDWS"),
    ("MEWS", "MEWS"),
    ("MILL", "ML"),
    ("ML", "ML"),
    ("MNR", "MNR"),
    ("MNT", "MT"),
    ("MNTAIN", "MTN"),
    ("MNTN", "MTN"),
    ("MOTORWAY", "MTWY"),
    ("MOUNT", "MT"),
    ("MOUNTAIN", "MTN"),
    ("MOUNTIN", "MTN"),
    ("MT", "MT"),
    ("MTIN", "MTN"),
    ("MTN", "MTN"),
    ("MTWY", "MTWY"),
    ("ORCH", "ORCH"),
    ("ORCHARD", "ORCH"),
    ("ORCHRD", "ORCH"),
    ("OVAL", "OVAL"),
    ("OVL", "OVAL"),
    ("PARADE", "PDE"),
    ("PARK", "PARK"),
    ("PARKWAY", "PKWY"),
    ("PARKWY", "PKWY"),
    ("PASS", "PASS"),
    ("PATH", "PATH"),
    ("PATHS", "PATH"),
    ("PDE", "PDE"),
    ("PIKE", "PIKE"),
    ("PIKES", "PIKE"),
    ("PINE", "PNE"),
    ("PKWAY", "PKWY"),
    ("PKWY", "PKWY"),
    ("PKY", "PKWY"),
    ("PL", "PL"),
    ("PLACE", "PL"),
    ("PLAIN", "PLN"),
    ("PLAZA", "PLZ"),
    ("PLN", "PLN"),
    ("PLZ", "PLZ"),
    ("PLZA", "PLZ"),
    ("PNE", "PNE"),
    ("POINT", "PT"),
    ("PORT", "PRT"),
    ("PR", "PR"),
    ("PRAIRIE", "PR"),
    ("PRK", "PARK"),
    ("PROM", "PROM"),
    ("PROMENADE", "PROM"),
    ("PRR", "PR"),
    ("PRT", "PRT"),
    ("PT", "PT"),
    ("RANCH", "RNCH"),
    ("RANCHES", "RNCH"),
    ("RD", "RD"),
    ("RDG", "RDG"),
    ("RDGE", "RDG"),
    ("RIDGE", "RDG"),
    ("RIV", "RIV"),
    ("RIVER", "RIV"),
    ("RIVR", "RIV"),
    ("RNCH", "RNCH"),
    ("RNCHS", "RNCH"),
    ("ROAD", "RD"),
    ("ROUTE", "RTE"),
    ("ROW", "ROW"),
    ("RTE", "RTE"),
    ("RUN", "RUN"),
    ("RVR", "RIV"),
    ("SHOAR", "SHR"),
    ("SHORE", "SHR"),
    ("SHR", "SHR"),
    ("SMT", "SMT"),
    ("SPG", "SPG"),
    ("SPNG", "SPG"),
    ("SPRING", "SPG"),
    ("SPRNG", "SPG"),
    ("SQ", "SQ"),
    ("SQR", "SQ"),
    ("SQRE", "SQ"),
    ("SQU", "SQ"),
    ("SQUARE", "SQ"),
    ("ST", "ST"),
    ("STA", "STA"),
    ("STATION", "STA"),
    ("STATN", "STA"),
    ("STN", "STA"),
    ("STR", "ST"),
    ("STREET", "ST"),
    ("STRT", "ST"),
    ("SUMIT", "SMT"),
    ("SUMITT", "SMT"),
    ("SUMMIT", "SMT"),
    ("TER", "TER"),
    ("TERR", "TER"),
    ("TERRACE", "TER"),
    ("TPKE", "TPKE"),
    ("TRACE", "TRCE"),
    ("TRACES", "TRCE"),
    ("TRAIL", "TRL"),
    ("TRAILS", "TRL"),
    ("TRCE", "TRCE"),
    ("TRL", "TRL"),
    ("TRLS", "TRL"),
    ("TRNPK", "TPKE"),
    ("TURNPIKE", "TPKE"),
    ("TURNPK", "TPKE"),
    ("VALLEY", "VLY"),
    ("VALLY", "VLY"),
    ("VIEW", "VW"),
    ("VILL", "VLG"),
    ("VILLAG", "VLG"),
    ("VILLAGE", "VLG"),
    ("VILLG", "VLG"),
    ("VILLIAGE", "VLG"),
    ("VIS", "VIS"),
    ("VIST", "VIS"),
    ("VISTA", "VIS"),
    ("VLG", "VLG"),
    ("VLLY", "VLY"),
    ("VLY", "VLY"),
    ("VST", "VIS"),
    ("VSTA", "VIS"),
    ("VW", "VW"),
    ("WALK", "WALK"),
    ("WALKS", "WALK"),
    ("WAY", "WAY"),
    ("WHARF", "WHRF"),
    ("WHRF", "WHRF"),
    ("WY", "WAY"),
    ("XING", "XING"),
    ("XRD", "XRD"),
];

static US_REGIONS: &[(&str, &str)] = &[
    ("AA", "AA"),
    ("AE", "AE"),
    ("AK", "AK"),
    ("AL", "AL"),
    ("ALA", "AL"),
    ("ALABAMA", "AL"),
    ("ALAS", "AK"),
    ("ALASKA", "AK"),
    ("AMERICAN SAMOA", "AS"),
    ("AP", "AP"),
    ("AR", "AR"),
    ("ARIZ", "AZ"),
    ("ARIZONA", "AZ"),
    ("ARK", "AR"),
    ("ARKANSAS", "AR"),
    ("ARMED FORCES AMERICAS", "AA"),
    ("ARMED FORCES EUROPE", "AE"),
    ("ARMED FORCES PACIFIC", "AP"),
    ("AS", "AS"),
    ("AZ", "AZ"),
    ("CA", "CA"),
    ("CAL", "CA"),
    ("CALIF", "CA"),
    ("CALIFORNIA", "CA"),
    ("CO", "CO"),
    ("COLO", "CO"),
    ("COLORADO", "CO"),
    ("CONN", "CT"),
    ("CONNECTICUT", "CT"),
    ("CT", "CT"),
    ("D C", "DC"),
    ("DC", "DC"),
    ("DE", "DE"),
    ("DEL", "DE"),
    ("DELAWARE", "DE"),
    ("DISTRICT OF COLUMBIA", "DC"),
    ("FL", "FL"),
    ("FLA", "FL"),
    ("FLORIDA", "FL"),
    ("GA", "GA"),
    ("GEORGIA", "GA"),
    ("GU", "GU"),
    ("GUAM", "GU"),
    ("HAWAII", "HI"),
    ("HI", "HI"),
    ("IA", "IA"),
    ("ID", "ID"),
    ("IDA", "ID"),
    ("IDAHO", "ID"),
    ("IL", "IL"),
    ("ILL", "IL"),
    ("ILLINOIS", "IL"),
    ("IN", "IN"),
    ("IND", "IN"),
    ("INDIANA", "IN"),
    ("IOWA", "IA"),
    ("KAN", "KS"),
    ("KANS", "KS"),
    ("KANSAS", "KS"),
    ("KENTUCKY", "KY"),
    ("KS", "KS"),
    ("KY", "KY"),
    ("LA", "LA"),
    ("LOUISIANA", "LA"),
    ("MA", "MA"),
    ("MAINE", "ME"),
    ("MARYLAND", "MD"),
    ("MASS", "MA"),
    ("MASSACHUSETTS", "MA"),
    ("MD", "MD"),
    ("ME", "ME"),
    ("MI", "MI"),
    ("MICH", "MI"),
    ("MICHIGAN", "MI"),
    ("MINN", "MN"),
    ("MINNESOTA", "MN"),
    ("MISS", "MS"),
    ("MISSISSIPPI", "MS"),
    ("MISSOURI", "MO"),
    ("MN", "MN"),
    ("MO", "MO"),
    ("MONT", "MT"),
    ("MONTANA", "MT"),
    ("MP", "MP"),
    ("MS", "MS"),
    ("MT", "MT"),
    ("N C", "NC"),
    ("N CAR", "NC"),
    ("N D", "ND"),
    ("N DAK", "ND"),
    ("N H", "NH"),
    ("N J", "NJ"),
    ("N M", "NM"),
    ("N MEX", "NM"),
    ("N Y", "NY"),
    ("NC", "NC"),
    ("ND", "ND"),
    ("NE", "NE"),
    ("NEB", "NE"),
    ("NEBR", "NE"),
    ("NEBRASKA", "NE"),
    ("NEV", "NV"),
    ("NEVADA", "NV"),
    ("NEW HAMPSHIRE", "NH"),
    ("NEW JERSEY", "NJ"),
    ("NEW MEXICO", "NM"),
    ("NEW YORK", "NY"),
    ("NH", "NH"),
    ("NJ", "NJ"),
    ("NM", "NM"),
    ("NORTH CAROLINA", "NC"),
    ("NORTH DAKOTA", "ND"),
    ("NORTHERN MARIANA ISLANDS", "MP"),
    ("NORTHERN MARIANAS", "MP"),
    ("NV", "NV"),
    ("NY", "NY"),
    ("OH", "OH"),
    ("OHIO", "OH"),
    ("OK", "OK"),
    ("OKLA", "OK"),
    ("OKLAHOMA", "OK"),
    ("OR", "OR"),
    ("ORE", "OR"),
    ("OREG", "OR"),
    ("OREGON", "OR"),
    ("PA", "PA"),
    ("PENN", "PA"),
    ("PENNA", "PA"),
    ("PENNSYLVANIA", "PA"),
    ("PR", "PR"),
    ("PUERTO RICO", "PR"),
    ("R I", "RI"),
    ("RHODE ISLAND", "RI"),
    ("RI", "RI"),
    ("S C", "SC"),
    ("S CAR", "SC"),
    ("S D", "SD"),
    ("S DAK", "SD"),
    ("SC", "SC"),
    ("SD", "SD"),
    ("SOUTH CAROLINA", "SC"),
    ("SOUTH DAKOTA", "SD"),
    ("TENN", "TN"),
    ("TENNESSEE", "TN"),
    ("TEX", "TX"),
    ("TEXAS", "TX"),
    ("TN", "TN"),
    ("TX", "TX"),
    ("U S VIRGIN ISLANDS", "VI"),
    ("US VIRGIN ISLANDS", "VI"),
    ("UT", "UT"),
    ("UTAH", "UT"),
    ("VA", "VA"),
    ("VERMONT", "VT"),
    ("VI", "VI"),
    ("VIRGIN ISLANDS", "VI"),
    ("VIRGINIA", "VA"),
    ("VT", "VT"),
    ("W VA", "WV"),
    ("WA", "WA"),
    ("WASH", "WA"),
    ("WASHINGTON", "WA"),
    ("WASHINGTON DC", "DC"),
    ("WEST VIRGINIA", "WV"),
    ("WI", "WI"),
    ("WIS", "WI"),
    ("WISC", "WI"),
    ("WISCONSIN", "WI"),
    ("WV", "WV"),
    ("WY", "WY"),
    ("WYO", "WY"),
    ("WYOMING", "WY"),
];
static CA_REGIONS: &[(&str, &str)] = &[
    ("AB", "AB"),
    ("ALBERTA", "AB"),
    ("ALTA", "AB"),
    ("B C", "BC"),
    ("BC", "BC"),
    ("BRITISH COLUMBIA", "BC"),
    ("COLOMBIE BRITANNIQUE", "BC"),
    ("ILE DU PRINCE EDOUARD", "PE"),
    ("LABRADOR", "NL"),
    ("MAN", "MB"),
    ("MANITOBA", "MB"),
    ("MB", "MB"),
    ("N B", "NB"),
    ("N S", "NS"),
    ("NB", "NB"),
    ("NEW BRUNSWICK", "NB"),
    ("NEWFOUNDLAND", "NL"),
    ("NEWFOUNDLAND AND LABRADOR", "NL"),
    ("NF", "NL"),
    ("NFLD", "NL"),
    ("NL", "NL"),
    ("NORTHWEST TERRITORIES", "NT"),
    ("NOUVEAU BRUNSWICK", "NB"),
    ("NOUVELLE ECOSSE", "NS"),
    ("NOVA SCOTIA", "NS"),
    ("NS", "NS"),
    ("NT", "NT"),
    ("NU", "NU"),
    ("NUNAVUT", "NU"),
    ("NWT", "NT"),
    ("ON", "ON"),
    ("ONT", "ON"),
    ("ONTARIO", "ON"),
    ("P E I", "PE"),
    ("P Q", "QC"),
    ("PE", "PE"),
    ("PEI", "PE"),
    ("PQ", "QC"),
    ("PRINCE EDWARD ISLAND", "PE"),
    ("QC", "QC"),
    ("QUE", "QC"),
    ("QUEBEC", "QC"),
    ("SASK", "SK"),
    ("SASKATCHEWAN", "SK"),
    ("SK", "SK"),
    ("TERRE NEUVE ET LABRADOR", "NL"),
    ("TERRITOIRES DU NORD OUEST", "NT"),
    ("YK", "YT"),
    ("YT", "YT"),
    ("YUKON", "YT"),
    ("YUKON TERRITORY", "YT"),
];
static AU_REGIONS: &[(&str, &str)] = &[
    ("A C T", "ACT"),
    ("ACT", "ACT"),
    ("AUSTRALIAN CAPITAL TERRITORY", "ACT"),
    ("N S W", "NSW"),
    ("N T", "NT"),
    ("NEW SOUTH WALES", "NSW"),
    ("NORTHERN TERRITORY", "NT"),
    ("NSW", "NSW"),
    ("NT", "NT"),
    ("QLD", "QLD"),
    ("QUEENSLAND", "QLD"),
    ("S A", "SA"),
    ("SA", "SA"),
    ("SOUTH AUSTRALIA", "SA"),
    ("TAS", "TAS"),
    ("TASMANIA", "TAS"),
    ("VIC", "VIC"),
    ("VICTORIA", "VIC"),
    ("W A", "WA"),
    ("WA", "WA"),
    ("WESTERN AUSTRALIA", "WA"),
];
static ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];
static COUNTRY_NAMES: &[(&str, &str)] = &[
    ("AMERICA", "US"),
    ("ARE", "AE"),
    ("ARG", "AR"),
    ("ARGENTINA", "AR"),
    ("AUS", "AU"),
    ("AUSTRALIA", "AU"),
    ("AUSTRIA", "AT"),
    ("AUT", "AT"),
    ("BANGLADESH", "BD"),
    ("BEL", "BE"),
    ("BELGIE", "BE"),
    ("BELGIQUE", "BE"),
    ("BELGIUM", "BE"),
    ("BGD", "BD"),
    ("BGR", "BG"),
    ("BRA", "BR"),
    ("BRASIL", "BR"),
    ("BRAZIL", "BR"),
    ("BRITAIN", "GB"),
    ("BULGARIA", "BG"),
    ("BUNDESREPUBLIK DEUTSCHLAND", "DE"),
    ("CAN", "CA"),
    ("CANADA", "CA"),
    ("CHE", "CH"),
    ("CHILE", "CL"),
    ("CHINA", "CN"),
    ("CHL", "CL"),
    ("CHN", "CN"),
    ("COL", "CO"),
    ("COLOMBIA", "CO"),
    ("COSTA RICA", "CR"),
    ("CRI", "CR"),
    ("CROATIA", "HR"),
    ("CUB", "CU"),
    ("CUBA", "CU"),
    ("CZE", "CZ"),
    ("CZECH REPUBLIC", "CZ"),
    ("CZECHIA", "CZ"),
    ("DANMARK", "DK"),
    ("DENMARK", "DK"),
    ("DEU", "DE"),
    ("DEUTSCHLAND", "DE"),
    ("DNK", "DK"),
    ("DOM", "DO"),
    ("DOMINICAN REPUBLIC", "DO"),
    ("ECU", "EC"),
    ("ECUADOR", "EC"),
    ("EGY", "EG"),
    ("EGYPT", "EG"),
    ("EIRE", "IE"),
    ("EL SALVADOR", "SV"),
    ("ENGLAND", "GB"),
    ("ESP", "ES"),
    ("ESPANA", "ES"),
    ("EST", "EE"),
    ("ESTONIA", "EE"),
    ("ETH", "ET"),
    ("ETHIOPIA", "ET"),
    ("FEDERAL REPUBLIC OF GERMANY", "DE"),
    ("FIN", "FI"),
    ("FINLAND", "FI"),
    ("FRA", "FR"),
    ("FRANCE", "FR"),
    ("GBR", "GB"),
    ("GERMANY", "DE"),
    ("GHA", "GH"),
    ("GHANA", "GH"),
    ("GRC", "GR"),
    ("GREAT BRITAIN", "GB"),
    ("GREECE", "GR"),
    ("GTM", "GT"),
    ("GUATEMALA", "GT"),
    ("HAITI", "HT"),
    ("HKG", "HK"),
    ("HND", "HN"),
    ("HOLLAND", "NL"),
    ("HONDURAS", "HN"),
    ("HONG KONG", "HK"),
    ("HRV", "HR"),
    ("HTI", "HT"),
    ("HUN", "HU"),
    ("HUNGARY", "HU"),
    ("ICELAND", "IS"),
    ("IDN", "ID"),
    ("IND", "IN"),
    ("INDIA", "IN"),
    ("INDONESIA", "ID"),
    ("IRAN", "IR"),
    ("IRAQ", "IQ"),
    ("IRELAND", "IE"),
    ("IRL", "IE"),
    ("IRN", "IR"),
    ("IRQ", "IQ"),
    ("ISL", "IS"),
    ("ISR", "IL"),
    ("ISRAEL", "IL"),
    ("ITA", "IT"),
    ("ITALIA", "IT"),
    ("ITALY", "IT"),
    ("JAM", "JM"),
    ("JAMAICA", "JM"),
    ("JAPAN", "JP"),
    ("JPN", "JP"),
    ("KEN", "KE"),
    ("KENYA", "KE"),
    ("KOR", "KR"),
    ("KOREA", "KR"),
    ("KOREA REPUBLIC OF", "KR"),
    ("LATVIA", "LV"),
    ("LITHUANIA", "LT"),
    ("LTU", "LT"),
    ("LUX", "LU"),
    ("LUXEMBOURG", "LU"),
    ("LVA", "LV"),
    ("MALAYSIA", "MY"),
    ("MAR", "MA"),
    ("MEX", "MX"),
    ("MEXICO", "MX"),
    ("MOROCCO", "MA"),
    ("MYS", "MY"),
    ("NEDERLAND", "NL"),
    ("NETHERLANDS", "NL"),
    ("NEW ZEALAND", "NZ"),
    ("NGA", "NG"),
    ("NIGERIA", "NG"),
    ("NLD", "NL"),
    ("NOR", "NO"),
    ("NORGE", "NO"),
    ("NORTHERN IRELAND", "GB"),
    ("NORWAY", "NO"),
    ("NZL", "NZ"),
    ("OSTERREICH", "AT"),
    ("PAK", "PK"),
    ("PAKISTAN", "PK"),
    ("PAN", "PA"),
    ("PANAMA", "PA"),
    ("PEOPLE S REPUBLIC OF CHINA", "CN"),
    ("PEOPLES REPUBLIC OF CHINA", "CN"),
    ("PER", "PE"),
    ("PERU", "PE"),
    ("PHILIPPINES", "PH"),
    ("PHL", "PH"),
    ("POL", "PL"),
    ("POLAND", "PL"),
    ("POLSKA", "PL"),
    ("PORTUGAL", "PT"),
    ("PRC", "CN"),
    ("PRI", "PR"),
    ("PRT", "PT"),
    ("PUERTO RICO", "PR"),
    ("REPUBLIC OF IRELAND", "IE"),
    ("REPUBLIC OF KOREA", "KR"),
    ("ROMANIA", "RO"),
    ("ROU", "RO"),
    ("RUS", "RU"),
    ("RUSSIA", "RU"),
    ("RUSSIAN FEDERATION", "RU"),
    ("SAU", "SA"),
    ("SAUDI ARABIA", "SA"),
    ("SCHWEIZ", "CH"),
    ("SCOTLAND", "GB"),
    ("SERBIA", "RS"),
    ("SGP", "SG"),
    ("SINGAPORE", "SG"),
    ("SLOVAKIA", "SK"),
    ("SLOVENIA", "SI"),
    ("SLV", "SV"),
    ("SOUTH AFRICA", "ZA"),
    ("SOUTH KOREA", "KR"),
    ("SPAIN", "ES"),
    ("SRB", "RS"),
    ("SUISSE", "CH"),
    ("SUOMI", "FI"),
    ("SVERIGE", "SE"),
    ("SVIZZERA", "CH"),
    ("SVK", "SK"),
    ("SVN", "SI"),
    ("SWE", "SE"),
    ("SWEDEN", "SE"),
    ("SWITZERLAND", "CH"),
    ("TAIWAN", "TW"),
    ("THA", "TH"),
    ("THAILAND", "TH"),
    ("THE NETHERLANDS", "NL"),
    ("TUR", "TR"),
    ("TURKEY", "TR"),
    ("TURKIYE", "TR"),
    ("TWN", "TW"),
    ("U A E", "AE"),
    ("U K", "GB"),
    ("U S", "US"),
    ("U S A", "US"),
    ("UAE", "AE"),
    ("UK", "GB"),
    ("UKR", "UA"),
    ("UKRAINE", "UA"),
    ("UNITED ARAB EMIRATES", "AE"),
    ("UNITED KINGDOM", "GB"),
    ("UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND", "GB"),
    ("UNITED STATES", "US"),
    ("UNITED STATES AMERICA", "US"),
    ("UNITED STATES OF AMERICA", "US"),
    ("USA", "US"),
    ("VEN", "VE"),
    ("VENEZUELA", "VE"),
    ("VIET NAM", "VN"),
    ("VIETNAM", "VN"),
    ("VNM", "VN"),
    ("WALES", "GB"),
    ("ZAF", "ZA"),
];

fn lookup(table: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

fn unit_designator(word: &str) -> Option<(&'static str, UnitKind)> {
    UNITS
        .binary_search_by(|(k, _, _)| (*k).cmp(word))
        .ok()
        .map(|i| (UNITS[i].1, UNITS[i].2))
}

fn street_suffix(word: &str) -> Option<&'static str> {
    lookup(STREET_SUFFIXES, word)
}

/// Whether `word` is a street suffix written with one typo whose standard abbreviation is
/// `abbr`: `LAE` of `LN` (from `LANE`), `AVENEU` of `AVE`. The standardiser abbreviates only
/// the suffixes it knows, so a mistyped one stays as typed beside its neighbour's abbreviation.
/// Only the long forms (four letters or more) are compared: one edit turns any short
/// abbreviation into many others.
pub fn is_street_suffix_typo(word: &str, abbr: &str) -> bool {
    word.len() >= 3
        && street_suffix(word).is_none()
        && STREET_SUFFIXES.iter().any(|(long, a)| {
            *a == abbr && long.len() >= 4 && crate::compare::similarity::osa_within(word, long, 1)
        })
}

fn directional(word: &str) -> Option<&'static str> {
    lookup(DIRECTIONALS, word)
}

/// Splits a line into upper-case ASCII words. Commas and most punctuation
/// separate; dots vanish inside abbreviations ("N.W." → "NW", "P.O." → "PO")
/// but separate words ("St.Mary" → "ST MARY"); '#' is a word of its own;
/// words with digits keep '-' and '/' ("12-14", "1/2").
fn tokens(raw: &str) -> Vec<String> {
    let mut prepared = String::with_capacity(raw.len() + 8);
    let mut letters_before = 0usize;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => prepared.push_str(" # "),
            '.' => {
                if letters_before > 1 && chars.peek().is_some_and(|n| n.is_alphabetic()) {
                    prepared.push(' ');
                }
            }
            '½' => prepared.push_str(" 1/2"),
            '¼' => prepared.push_str(" 1/4"),
            '¾' => prepared.push_str(" 3/4"),
            '-' | '/' | '\'' | '’' => prepared.push(c),
            c if c.is_alphanumeric() || c.is_whitespace() => prepared.push(c),
            c if unicode_normalization::char::is_combining_mark(c) => prepared.push(c),
            _ => prepared.push(' '),
        }
        letters_before = if c.is_alphabetic() {
            letters_before + 1
        } else {
            0
        };
    }

    let mut out = Vec::new();
    for word in prepared.split_whitespace() {
        if word == "#" {
            out.push("#".to_string());
        } else if word.bytes().any(|b| b.is_ascii_digit()) {
            let mut t = String::with_capacity(word.len());
            for c in word.chars() {
                if c.is_ascii_alphanumeric() {
                    t.push(c.to_ascii_uppercase());
                } else if c == '-' || c == '/' {
                    t.push(c);
                } else if c.is_alphanumeric() {
                    // "12ª", full-width digits: fold the odd character only.
                    let mut buf = [0u8; 4];
                    t.push_str(&fold(c.encode_utf8(&mut buf)).replace(' ', ""));
                }
            }
            let t = t.trim_matches(['-', '/']);
            if !t.is_empty() {
                out.push(t.to_string());
            }
        } else {
            out.extend(
                fold(word)
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_string),
            );
        }
    }
    join_po_box(&mut out);
    out
}

/// "P O BOX", "POST OFFICE BOX", "POBOX" → "PO BOX".
fn join_po_box(toks: &mut Vec<String>) {
    let mut i = 0;
    while i < toks.len() {
        let w = toks[i].as_str();
        if w == "POBOX" {
            toks[i] = "PO".to_string();
            toks.insert(i + 1, "BOX".to_string());
        } else if ((w == "P" && toks.get(i + 1).is_some_and(|n| n == "O"))
            || (w == "POST" && toks.get(i + 1).is_some_and(|n| n == "OFFICE")))
            && toks.get(i + 2).is_some_and(|n| n == "BOX")
        {
            toks[i] = "PO".to_string();
            toks.remove(i + 1);
        }
        i += 1;
    }
}

/// "1ST", "22ND", "3RD", "4TH".
fn is_ordinal(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&w[digits..], "ST" | "ND" | "RD" | "TH")
}

/// A unit's value: "4", "4B", "B", "12-A".
fn is_unit_value(w: &str) -> bool {
    w.bytes().any(|b| b.is_ascii_digit()) || (w.len() == 1 && w.as_bytes()[0].is_ascii_uppercase())
}

/// A house number: "123", "12A", "12-14", "12-A", "5/12"; not "5TH".
fn is_house_number(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || is_ordinal(w) {
        return false;
    }
    let rest = &w[digits..];
    let one_letter = |s: &str| s.len() == 1 && s.as_bytes()[0].is_ascii_uppercase();
    if rest.is_empty() || one_letter(rest) {
        return true;
    }
    match rest.strip_prefix(['-', '/']) {
        Some(tail) => {
            let d = tail.bytes().take_while(u8::is_ascii_digit).count();
            (d > 0 && (tail.len() == d || one_letter(&tail[d..]))) || one_letter(tail)
        }
        None => false,
    }
}

fn is_fraction(w: &str) -> bool {
    match w.split_once('/') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Standardises the words of a unit: designators abbreviated, '#' becomes
/// APT when it leads and is dropped after a designator.
fn unit_words(words: &[String]) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(words.len() + 1);
    for (i, w) in words.iter().enumerate() {
        if w == "#" {
            let after_designator = i > 0 && unit_designator(&words[i - 1]).is_some();
            if !after_designator && words.get(i + 1).is_some() {
                out.push("APT");
            }
            continue;
        }
        match unit_designator(w) {
            Some((abbr, _)) => out.push(abbr),
            None => out.push(w),
        }
    }
    out.join(" ")
}

/// Finds a secondary unit in a line's words; returns the words without it
/// and the standardised unit.
fn extract_unit(toks: Vec<String>) -> (Vec<String>, Option<String>) {
    let n = toks.len();
    for i in 0..n {
        let w = toks[i].as_str();
        // "3RD FLOOR", "2ND FL" after the street.
        if i >= 2 && (w == "FLOOR" || w == "FL" || w == "FLR") && is_ordinal(&toks[i - 1]) {
            let digits: String = toks[i - 1]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let mut line = toks;
            let rest = line.split_off(i - 1);
            let mut unit = format!("FL {digits}");
            if rest.len() > 2 {
                unit.push(' ');
                unit.push_str(&unit_words(&rest[2..]));
            }
            return (line, Some(unit));
        }
        let (designator, kind) = if w == "#" {
            ("APT", UnitKind::Clear)
        } else {
            match unit_designator(w) {
                Some(d) => d,
                None => continue,
            }
        };
        // "APT # 4": the '#' after a designator is noise.
        let value_at = if toks.get(i + 1).is_some_and(|t| t == "#") {
            i + 2
        } else {
            i + 1
        };
        let has_value = toks.get(value_at).is_some_and(|v| is_unit_value(v));
        let recognised = match kind {
            UnitKind::Clear => has_value && (i >= 1 || value_at + 1 < n),
            UnitKind::Ambiguous => has_value && i >= 2,
            // "123 MAIN ST REAR": alone at the end, right after a suffix.
            UnitKind::NoValue => {
                i >= 2
                    && i == n - 1
                    && (street_suffix(&toks[i - 1]).is_some()
                        || directional(&toks[i - 1]).is_some())
            }
        };
        if !recognised {
            continue;
        }
        let mut line = toks;
        if i == 0 {
            // "APT 4B 123 MAIN ST": the unit leads.
            let rest = line.split_off(value_at + 1);
            let unit = format!("{designator} {}", line[value_at]);
            return (rest, Some(unit));
        }
        let rest = line.split_off(i);
        let mut unit = designator.to_string();
        let tail_start = if has_value { value_at } else { i + 1 } - i;
        if tail_start < rest.len() {
            unit.push(' ');
            unit.push_str(&unit_words(&rest[tail_start..]));
        }
        return (line, Some(unit));
    }
    (toks, None)
}

/// Abbreviates the suffix (last word, or last before a trailing directional)
/// and leading/trailing directionals of a street name, in place.
fn standardize_street_words(words: &mut [String]) {
    let n = words.len();
    if n < 2 {
        return;
    }
    let trailing_dir = directional(&words[n - 1]).is_some();
    let end = if trailing_dir { n - 1 } else { n };
    // Only the suffix position: "AVENUE OF THE AMERICAS" keeps AVENUE, and
    // a street that is only a suffix word ("123 AVENUE") keeps it.
    if end >= 2 {
        if let Some(abbr) = street_suffix(&words[end - 1]) {
            words[end - 1] = abbr.to_string();
        }
    }
    if trailing_dir && end >= 1 {
        if let Some(abbr) = directional(&words[n - 1]) {
            words[n - 1] = abbr.to_string();
        }
    }
    // A leading directional is the street's name when only a suffix
    // follows: "NORTH AVE", but "N MAIN ST", "N BROADWAY".
    if end >= 2 {
        if let Some(abbr) = directional(&words[0]) {
            let name_is_directional = end == 2 && street_suffix(&words[1]).is_some();
            if !name_is_directional {
                words[0] = abbr.to_string();
            }
        }
    }
}

/// (house number, street words) of a line's words.
fn split_number(words: &[String]) -> (Option<String>, &[String]) {
    match words.first() {
        Some(first) if is_house_number(first) => {
            if let Some(frac) = words.get(1).filter(|w| is_fraction(w)) {
                (Some(format!("{first} {frac}")), &words[2..])
            } else {
                (Some(first.clone()), &words[1..])
            }
        }
        _ => (None, words),
    }
}

fn join_nonempty(words: &[String]) -> Option<String> {
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// Standardises a street address. The unit is pulled out of `line1`
/// ("123 Main Street, Apartment 4B" → line "123 MAIN ST", unit "APT 4B");
/// `line2` becomes the unit when it is one, else it is appended to the line.
/// Number and street come from whichever line starts with a house number
/// (line 1 first); only that line gets suffix and directional abbreviation.
pub fn standardize_street(line1: &str, line2: Option<&str>) -> StreetAddress {
    let (mut words1, unit1) = extract_unit(tokens(line1));
    let mut units: Vec<String> = unit1.into_iter().collect();
    let mut words2 = Vec::new();
    if let Some(l2) = line2 {
        match standardize_unit(l2) {
            Some(u) => units.push(u),
            None => {
                let (w, u) = extract_unit(tokens(l2));
                words2 = w;
                units.extend(u);
            }
        }
    }

    let line1_has_number = words1.first().is_some_and(|w| is_house_number(w));
    let line2_has_number = words2.first().is_some_and(|w| is_house_number(w));
    let primary_is_2 = !line1_has_number && line2_has_number;

    let (number, street) = {
        let primary = if primary_is_2 {
            &mut words2
        } else {
            &mut words1
        };
        let skip = match split_number(primary) {
            (Some(num), rest) => (Some(num), primary.len() - rest.len()),
            (None, _) => (None, 0),
        };
        standardize_street_words(&mut primary[skip.1..]);
        (skip.0, join_nonempty(&primary[skip.1..]))
    };

    let mut line = words1.join(" ");
    if !words2.is_empty() {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&words2.join(" "));
    }
    StreetAddress {
        line,
        number,
        street,
        unit: if units.is_empty() {
            None
        } else {
            Some(units.join(" "))
        },
    }
}

/// Standardises a value that should be a secondary unit ("Apt. 4B" → "APT
/// 4B", "#12" → "APT 12", "Suite 200" → "STE 200", "2nd Floor" → "FL 2");
/// `None` when it does not start with a unit designator.
pub fn standardize_unit(raw: &str) -> Option<String> {
    let words = tokens(raw);
    let first = words.first()?;
    if first == "#" {
        return if words.len() > 1 {
            Some(unit_words(&words))
        } else {
            None
        };
    }
    if let Some((_, kind)) = unit_designator(first) {
        // "Suite A", "Apartment", but not "Key West Plaza" or "Office Depot".
        let next = words.get(1);
        let is_unit = match next {
            None => true,
            Some(v) => {
                v == "#" || (is_unit_value(v) && (kind != UnitKind::NoValue || words.len() == 2))
            }
        };
        let is_unit = is_unit && (kind != UnitKind::Ambiguous || next.is_some());
        return if is_unit {
            Some(unit_words(&words))
        } else {
            None
        };
    }
    if is_ordinal(first)
        && words
            .get(1)
            .is_some_and(|w| w == "FLOOR" || w == "FL" || w == "FLR")
    {
        let digits: String = first.chars().take_while(char::is_ascii_digit).collect();
        let mut unit = format!("FL {digits}");
        if words.len() > 2 {
            unit.push(' ');
            unit.push_str(&unit_words(&words[2..]));
        }
        return Some(unit);
    }
    None
}

/// Folds a city name and spells out the abbreviated words Saint, Sainte,
/// Fort, Mount and Point: "St. Louis" → "SAINT LOUIS", "Ft Worth" → "FORT
/// WORTH", "Zürich" → "ZURICH".
pub fn standardize_city(raw: &str) -> String {
    let folded = fold(raw);
    if !folded.split(' ').any(|w| lookup(CITY_WORDS, w).is_some()) {
        return folded;
    }
    folded
        .split(' ')
        .map(|w| lookup(CITY_WORDS, w).unwrap_or(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// State, province or territory code: US states (and DC, territories,
/// military), Canadian provinces and Australian states by name, code or
/// common abbreviation ("Mass.", "Calif", "N. Dak.", "Qué", "nsw"). With no
/// country, US, then Canada, then Australia are tried. Anything unknown
/// comes back folded upper-case.
pub fn standardize_region(raw: &str, country: Option<&str>) -> String {
    let folded = fold(raw);
    // A blank country is no country.
    let country = country.filter(|c| !c.trim().is_empty());
    let tables: &[&[(&str, &str)]] = match country.map(standardize_country) {
        Some(Some(c)) => match c.as_str() {
            "US" => &[US_REGIONS],
            "CA" => &[CA_REGIONS],
            "AU" => &[AU_REGIONS],
            _ => &[],
        },
        // A country we do not know: its regions are not in our tables.
        Some(None) => &[],
        None => &[US_REGIONS, CA_REGIONS, AU_REGIONS],
    };
    for table in tables {
        if let Some(code) = lookup(table, &folded) {
            return code.to_string();
        }
    }
    // "N.Y." folds to "N Y", "B.C." to "B C": try without spaces too.
    if folded.contains(' ') {
        let compact: String = folded.chars().filter(|&c| c != ' ').collect();
        for table in tables {
            if let Some(code) = lookup(table, &compact) {
                return code.to_string();
            }
        }
    }
    folded
}

/// ISO 3166-1 alpha-2 code of a country given by alpha-2 or alpha-3 code or
/// by name (English and a few native names): "USA", "U.S.A.", "United
/// States of America", "America" → "US"; "UK", "England" → "GB";
/// "Deutschland" → "DE". `None` for anything not recognised.
pub fn standardize_country(raw: &str) -> Option<String> {
    let folded = fold(raw);
    if folded.is_empty() {
        return None;
    }
    if let Some(code) = lookup(COUNTRY_NAMES, &folded) {
        return Some(code.to_string());
    }
    // "The Netherlands", "the United States".
    if let Some(code) = folded
        .strip_prefix("THE ")
        .and_then(|k| lookup(COUNTRY_NAMES, k))
    {
        return Some(code.to_string());
    }
    // "U.S.A." folds to "U S A".
    let compact: String = folded.chars().filter(|&c| c != ' ').collect();
    if let Some(code) = lookup(COUNTRY_NAMES, &compact) {
        return Some(code.to_string());
    }
    if compact.len() == 2 && ALPHA2.binary_search(&compact.as_str()).is_ok() {
        return Some(compact);
    }
    None
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_mistyped_suffix_is_recognised_beside_its_abbreviation() {
        assert!(is_street_suffix_typo("LAE", "LN"));
        assert!(is_street_suffix_typo("AVENEU", "AVE"));
        assert!(
            is_street_suffix_typo("LAE", "LK"),
            "LAKE is one edit away too"
        );
        assert!(
            !is_street_suffix_typo("LANE", "LN"),
            "a known suffix is no typo"
        );
        assert!(!is_street_suffix_typo("MAIN", "ST"));
        assert!(!is_street_suffix_typo("XT", "ST"), "too short to tell");
    }
    use super::*;

    fn st(line1: &str, line2: Option<&str>) -> StreetAddress {
        standardize_street(line1, line2)
    }

    fn addr(
        line: &str,
        number: Option<&str>,
        street: Option<&str>,
        unit: Option<&str>,
    ) -> StreetAddress {
        StreetAddress {
            line: line.to_string(),
            number: number.map(str::to_string),
            street: street.map(str::to_string),
            unit: unit.map(str::to_string),
        }
    }

    #[test]
    fn tables_are_sorted_and_consistent() {
        assert!(STREET_SUFFIXES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(UNITS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(DIRECTIONALS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CITY_WORDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(US_REGIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CA_REGIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(AU_REGIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(COUNTRY_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ALPHA2.len(), 249);
        // Every abbreviation maps to itself, so standardising is idempotent.
        for (_, abbr) in STREET_SUFFIXES {
            assert_eq!(street_suffix(abbr), Some(*abbr), "{abbr}");
        }
        for (_, code) in COUNTRY_NAMES {
            assert!(ALPHA2.binary_search(code).is_ok(), "{code}");
        }
        assert!(STREET_SUFFIXES.len() >= 200);
    }

    #[test]
    fn basic_line_with_suffix() {
        assert_eq!(
            st("123 Main Street", None),
            addr("123 MAIN ST", Some("123"), Some("MAIN ST"), None)
        );
        assert_eq!(
            st("  123   main st. ", None),
            addr("123 MAIN ST", Some("123"), Some("MAIN ST"), None)
        );
        for (raw, want) in [
            ("1 Elm Avenue", "1 ELM AVE"),
            ("1 Elm Av", "1 ELM AVE"),
            ("1 Elm Aven.", "1 ELM AVE"),
            ("1 Elm Road", "1 ELM RD"),
            ("1 Elm Drive", "1 ELM DR"),
            ("1 Elm Lane", "1 ELM LN"),
            ("1 Elm Boulevard", "1 ELM BLVD"),
            ("1 Elm Court", "1 ELM CT"),
            ("1 Elm Place", "1 ELM PL"),
            ("1 Elm Circle", "1 ELM CIR"),
            ("1 Elm Circuit", "1 ELM CCT"),
            ("1 Elm Crescent", "1 ELM CRES"),
            ("1 Elm Terrace", "1 ELM TER"),
            ("1 Elm Highway", "1 ELM HWY"),
            ("1 Elm Parkway", "1 ELM PKWY"),
            ("1 Elm Square", "1 ELM SQ"),
            ("1 Elm Trail", "1 ELM TRL"),
            ("1 Elm Way", "1 ELM WAY"),
            ("1 Elm Expressway", "1 ELM EXPY"),
            ("1 Elm Close", "1 ELM CL"),
            ("1 Elm Parade", "1 ELM PDE"),
        ] {
            assert_eq!(st(raw, None).line, want, "{raw}");
        }
    }

    #[test]
    fn suffix_only_in_suffix_position() {
        assert_eq!(
            st("1 Avenue of the Americas", None).line,
            "1 AVENUE OF THE AMERICAS"
        );
        assert_eq!(st("500 Street Road", None).line, "500 STREET RD");
        assert_eq!(st("12 Park Avenue", None).line, "12 PARK AVE");
        assert_eq!(st("12 Avenue", None).line, "12 AVENUE");
        assert_eq!(st("350 Fifth Avenue", None).line, "350 FIFTH AVE");
    }

    #[test]
    fn directionals() {
        assert_eq!(
            st("100 North Main Street", None),
            addr("100 N MAIN ST", Some("100"), Some("N MAIN ST"), None)
        );
        assert_eq!(st("100 Main Street Northwest", None).line, "100 MAIN ST NW");
        assert_eq!(st("100 Park Avenue South", None).line, "100 PARK AVE S");
        assert_eq!(st("100 N.W. 5th St.", None).line, "100 NW 5TH ST");
        assert_eq!(st("100 North Broadway", None).line, "100 N BROADWAY");
        // Here the directional is the street's name.
        assert_eq!(st("100 North Avenue", None).line, "100 NORTH AVE");
        assert_eq!(st("100 West Street", None).line, "100 WEST ST");
    }

    #[test]
    fn unit_pulled_out_of_line_one() {
        assert_eq!(
            st("123 Main Street, Apartment 4B", None),
            addr("123 MAIN ST", Some("123"), Some("MAIN ST"), Some("APT 4B"))
        );
        for (raw, unit) in [
            ("123 Main St Apt 4B", "APT 4B"),
            ("123 Main St Apt. #4B", "APT 4B"),
            ("123 Main St #4B", "APT 4B"),
            ("123 Main St # 4B", "APT 4B"),
            ("123 Main St Suite 200", "STE 200"),
            ("123 Main St Ste. 200", "STE 200"),
            ("123 Main St Unit B", "UNIT B"),
            ("123 Main St Floor 3", "FL 3"),
            ("123 Main St 3rd Floor", "FL 3"),
            ("123 Main St Bldg 5", "BLDG 5"),
            ("123 Main St Building C", "BLDG C"),
            ("123 Main St Room 101", "RM 101"),
            ("123 Main St Lot 7", "LOT 7"),
            ("123 Main St Space 12", "SPC 12"),
            ("123 Main St Trailer 9", "TRLR 9"),
            ("123 Main St Rear", "REAR"),
            ("123 Main St Basement", "BSMT"),
            ("123 Main St Ste 200 Bldg 3", "STE 200 BLDG 3"),
        ] {
            let a = st(raw, None);
            assert_eq!(a.unit.as_deref(), Some(unit), "{raw}");
            assert_eq!(a.line, "123 MAIN ST", "{raw}");
            assert_eq!(a.street.as_deref(), Some("MAIN ST"), "{raw}");
        }
    }

    #[test]
    fn leading_unit() {
        assert_eq!(
            st("Apt 4B, 123 Main St", None),
            addr("123 MAIN ST", Some("123"), Some("MAIN ST"), Some("APT 4B"))
        );
        assert_eq!(
            st("Unit 5 12 Smith St", None),
            addr("12 SMITH ST", Some("12"), Some("SMITH ST"), Some("UNIT 5"))
        );
    }

    #[test]
    fn unit_words_that_are_street_words_stay() {
        assert_eq!(st("12 Flat Rock Road", None).line, "12 FLAT ROCK RD");
        assert_eq!(st("12 Front Street", None).line, "12 FRONT ST");
        assert_eq!(st("12 Key West Drive", None).line, "12 KEY WEST DR");
        assert_eq!(st("Pier 39", None).line, "PIER 39");
        assert_eq!(st("12 Rear Lane", None).unit, None);
    }

    #[test]
    fn line_two() {
        assert_eq!(
            st("123 Main St", Some("Apt 4B")),
            addr("123 MAIN ST", Some("123"), Some("MAIN ST"), Some("APT 4B"))
        );
        assert_eq!(
            st("123 Main St", Some("#12")).unit.as_deref(),
            Some("APT 12")
        );
        assert_eq!(
            st("123 Main St", Some("Suite 200")).unit.as_deref(),
            Some("STE 200")
        );
        assert_eq!(st("123 Main St", Some("")).unit, None);
        assert_eq!(
            st("123 Main St", Some("Kingsford Court")),
            addr(
                "123 MAIN ST KINGSFORD COURT",
                Some("123"),
                Some("MAIN ST"),
                None
            )
        );
        // Two units: from line 1 and line 2.
        assert_eq!(
            st("123 Main St Bldg 2", Some("Apt 4")).unit.as_deref(),
            Some("BLDG 2 APT 4")
        );
        // The house number is on line 2; line 1 is a building name.
        assert_eq!(
            st("Kingsford Court", Some("12 Smith Street")),
            addr(
                "KINGSFORD COURT 12 SMITH ST",
                Some("12"),
                Some("SMITH ST"),
                None
            )
        );
    }

    #[test]
    fn house_numbers() {
        assert_eq!(st("12A Main St", None).number.as_deref(), Some("12A"));
        assert_eq!(st("12-14 Main St", None).number.as_deref(), Some("12-14"));
        assert_eq!(st("12 1/2 Main St", None).number.as_deref(), Some("12 1/2"));
        assert_eq!(st("12½ Main St", None).number.as_deref(), Some("12 1/2"));
        assert_eq!(st("12-B Main St", None).number.as_deref(), Some("12-B"));
        assert_eq!(st("5/12 Smith St", None).number.as_deref(), Some("5/12"));
        let a = st("12 1/2 Main St", None);
        assert_eq!(a.street.as_deref(), Some("MAIN ST"));
        assert_eq!(a.line, "12 1/2 MAIN ST");
    }

    #[test]
    fn no_house_number() {
        assert_eq!(
            st("5th Avenue", None),
            addr("5TH AVE", None, Some("5TH AVE"), None)
        );
        assert_eq!(
            st("kingsford court", None),
            addr("KINGSFORD CT", None, Some("KINGSFORD CT"), None)
        );
        assert_eq!(st("", None), addr("", None, None, None));
        assert_eq!(st(" ,. ", None), addr("", None, None, None));
        assert_eq!(st("42", None), addr("42", Some("42"), None, None));
    }

    #[test]
    fn po_boxes() {
        for raw in [
            "P.O. Box 123",
            "PO Box 123",
            "P O Box 123",
            "Post Office Box 123",
            "POBox 123",
        ] {
            assert_eq!(
                st(raw, None),
                addr("PO BOX 123", None, Some("PO BOX 123"), None),
                "{raw}"
            );
        }
    }

    #[test]
    fn unicode_and_punctuation() {
        assert_eq!(st("12 Königstraße", None).line, "12 KONIGSTRASSE");
        assert_eq!(st("7 Rue de l'Église", None).line, "7 RUE DE LEGLISE");
        assert_eq!(st("12 St.Mary's Rd.", None).line, "12 ST MARYS RD");
        assert_eq!(
            st("12 Wilkes-Barre Blvd", None).line,
            "12 WILKES BARRE BLVD"
        );
        assert_eq!(st("１２ Main St", None).number.as_deref(), Some("12"));
    }

    #[test]
    fn standardize_street_is_idempotent() {
        for raw in [
            "123 Main Street, Apartment 4B",
            "100 North Avenue",
            "1 Avenue of the Americas",
            "12 1/2 Main St",
            "P.O. Box 9",
            "100 Main Street Northwest",
        ] {
            let once = st(raw, None);
            let again = st(&once.line, once.unit.as_deref());
            assert_eq!(again, once, "{raw}");
        }
    }

    #[test]
    fn standardize_unit_values() {
        assert_eq!(standardize_unit("Apt. 4B").as_deref(), Some("APT 4B"));
        assert_eq!(standardize_unit("apartment #4b").as_deref(), Some("APT 4B"));
        assert_eq!(standardize_unit("#4B").as_deref(), Some("APT 4B"));
        assert_eq!(standardize_unit("# 12").as_deref(), Some("APT 12"));
        assert_eq!(standardize_unit("Suite 200").as_deref(), Some("STE 200"));
        assert_eq!(standardize_unit("Unit B").as_deref(), Some("UNIT B"));
        assert_eq!(standardize_unit("2nd Floor").as_deref(), Some("FL 2"));
        assert_eq!(standardize_unit("Fl. 3").as_deref(), Some("FL 3"));
        assert_eq!(standardize_unit("Basement").as_deref(), Some("BSMT"));
        assert_eq!(standardize_unit("Penthouse").as_deref(), Some("PH"));
        assert_eq!(standardize_unit("Lot 12").as_deref(), Some("LOT 12"));
        assert_eq!(standardize_unit("Apartment").as_deref(), Some("APT"));
        assert_eq!(standardize_unit("Kingsford Court"), None);
        assert_eq!(standardize_unit("Key West Plaza"), None);
        assert_eq!(standardize_unit("Office Depot Plaza"), None);
        assert_eq!(standardize_unit("Lot"), None);
        assert_eq!(standardize_unit("4B"), None);
        assert_eq!(standardize_unit("#"), None);
        assert_eq!(standardize_unit(""), None);
        assert_eq!(standardize_unit("PO Box 12"), None);
    }

    #[test]
    fn cities() {
        assert_eq!(standardize_city("  st. louis "), "SAINT LOUIS");
        assert_eq!(standardize_city("Saint Louis"), "SAINT LOUIS");
        assert_eq!(standardize_city("Ft. Worth"), "FORT WORTH");
        assert_eq!(standardize_city("Mt Vernon"), "MOUNT VERNON");
        assert_eq!(standardize_city("Ste-Foy"), "SAINTE FOY");
        assert_eq!(standardize_city("Port St. Lucie"), "PORT SAINT LUCIE");
        assert_eq!(standardize_city("Zürich"), "ZURICH");
        assert_eq!(standardize_city("Winston-Salem"), "WINSTON SALEM");
        assert_eq!(standardize_city("Coeur d'Alene"), "COEUR DALENE");
        assert_eq!(standardize_city("new   york"), "NEW YORK");
        assert_eq!(standardize_city(""), "");
    }

    #[test]
    fn us_regions() {
        for (raw, code) in [
            ("Massachusetts", "MA"),
            ("Mass.", "MA"),
            ("MA", "MA"),
            ("ma", "MA"),
            ("Calif", "CA"),
            ("California", "CA"),
            ("N. Dak.", "ND"),
            ("North Dakota", "ND"),
            ("N.Y.", "NY"),
            ("new york", "NY"),
            ("D.C.", "DC"),
            ("District of Columbia", "DC"),
            ("Wash.", "WA"),
            ("W. Va.", "WV"),
            ("Puerto Rico", "PR"),
            ("Penna", "PA"),
            ("Tex", "TX"),
        ] {
            assert_eq!(standardize_region(raw, Some("US")), code, "{raw}");
            assert_eq!(standardize_region(raw, None), code, "{raw} without country");
        }
        assert_eq!(standardize_region("Mass", Some("USA")), "MA");
        assert_eq!(standardize_region("Mass", Some("United States")), "MA");
    }

    #[test]
    fn canadian_and_australian_regions() {
        for (raw, code) in [
            ("Ontario", "ON"),
            ("Ont.", "ON"),
            ("Québec", "QC"),
            ("P.Q.", "QC"),
            ("B.C.", "BC"),
            ("British Columbia", "BC"),
            ("Newfoundland", "NL"),
            ("PEI", "PE"),
            ("Yukon", "YT"),
        ] {
            assert_eq!(standardize_region(raw, Some("CA")), code, "{raw}");
        }
        for (raw, code) in [
            ("nsw", "NSW"),
            ("New South Wales", "NSW"),
            ("vic", "VIC"),
            ("Victoria", "VIC"),
            ("qld", "QLD"),
            ("sa", "SA"),
            ("wa", "WA"),
            ("Western Australia", "WA"),
            ("tas", "TAS"),
            ("nt", "NT"),
            ("act", "ACT"),
            ("A.C.T.", "ACT"),
        ] {
            assert_eq!(standardize_region(raw, Some("AU")), code, "{raw}");
            assert_eq!(standardize_region(raw, Some("Australia")), code, "{raw}");
        }
        // Without a country, the US reading wins for shared codes.
        assert_eq!(standardize_region("Victoria", None), "VIC");
        assert_eq!(standardize_region("Ontario", None), "ON");
    }

    #[test]
    fn unknown_regions_are_folded() {
        assert_eq!(standardize_region("Bavaria", Some("DE")), "BAVARIA");
        assert_eq!(
            standardize_region("Île-de-France", Some("FR")),
            "ILE DE FRANCE"
        );
        // A US name under another country is not translated.
        assert_eq!(
            standardize_region("Massachusetts", Some("GB")),
            "MASSACHUSETTS"
        );
        assert_eq!(standardize_region("Ontario", Some("US")), "ONTARIO");
        assert_eq!(
            standardize_region("Somewhere", Some("Atlantis")),
            "SOMEWHERE"
        );
        assert_eq!(standardize_region("", None), "");
        assert_eq!(standardize_region("Mass.", Some("  ")), "MA");
    }

    #[test]
    fn countries() {
        for (raw, code) in [
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("U.S.", "US"),
            ("us", "US"),
            ("United States of America", "US"),
            ("united states", "US"),
            ("The United States", "US"),
            ("America", "US"),
            ("UK", "GB"),
            ("U.K.", "GB"),
            ("Great Britain", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("United Kingdom", "GB"),
            ("GB", "GB"),
            ("GBR", "GB"),
            ("Deutschland", "DE"),
            ("Germany", "DE"),
            ("DEU", "DE"),
            ("Canada", "CA"),
            ("México", "MX"),
            ("España", "ES"),
            ("Österreich", "AT"),
            ("The Netherlands", "NL"),
            ("Holland", "NL"),
            ("Ireland", "IE"),
            ("Éire", "IE"),
            ("Australia", "AU"),
            ("New Zealand", "NZ"),
            ("India", "IN"),
            ("China", "CN"),
            ("Brasil", "BR"),
            ("South Africa", "ZA"),
            ("UAE", "AE"),
            ("Viet Nam", "VN"),
            ("fr", "FR"),
            ("zw", "ZW"),
        ] {
            assert_eq!(standardize_country(raw).as_deref(), Some(code), "{raw}");
        }
    }

    #[test]
    fn unknown_countries_are_none() {
        for raw in ["", "  ", "Atlantis", "XX", "ZZZ", "Narnia", "12", "UK GB"] {
            assert_eq!(standardize_country(raw), None, "{raw:?}");
        }
    }
}
