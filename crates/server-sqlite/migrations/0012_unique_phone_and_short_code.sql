-- Uniqueness as constraints, not as a check before an insert (safe with
-- several writers on PostgreSQL):
-- * one user per phone number in a company (two invitations accepted by
--   one number at the same moment make one partner, not two). A number
--   already on two users of a company stays on the first; the later
--   user keeps everything but the duplicate number.
UPDATE users SET phone = NULL
WHERE phone IS NOT NULL
  AND id NOT IN (SELECT MIN(id) FROM users WHERE phone IS NOT NULL GROUP BY company_id, phone);
DROP INDEX users_company_phone;
CREATE UNIQUE INDEX users_company_phone_unique ON users(company_id, phone) WHERE phone IS NOT NULL;
-- * a short code names one invitation, ever (31^6 codes: none is reused).
--   An older invitation that shared its code with a newer one (reuse of
--   expired codes, allowed before) gets '~<id>', which nobody can type.
UPDATE invitations SET short_code = '~' || CAST(id AS TEXT)
WHERE id NOT IN (SELECT MAX(id) FROM invitations GROUP BY short_code);
CREATE UNIQUE INDEX invitations_short_code_unique ON invitations(short_code);
