DROP TABLE trusted_audiences;
DROP TABLE trusted_issuers;
