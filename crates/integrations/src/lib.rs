//! Users, MFA email codes, enrollments and integration accounts: the account API.
