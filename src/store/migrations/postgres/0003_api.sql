-- Read API (gild serve): indexes for customer search. The API compares with exactly these
-- expressions, so that each criterion is an index look-up: e-mail in any case, name in any case,
-- postcode in any case and with or without spaces. Phone uses golden_customers_phone (E.164).
-- The SQLite flavour has the same indexes.
CREATE INDEX golden_customers_email_ci ON golden_customers (LOWER(email));
CREATE INDEX golden_customers_name_ci ON golden_customers (LOWER(family_name), LOWER(given_name));
CREATE INDEX golden_customers_postcode_ci ON golden_customers (UPPER(REPLACE(postcode, ' ', '')));
