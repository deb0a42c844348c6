-- The device token leaves this file (issue 20): it is kept in the system
-- keychain, or in a file of its own where none runs. The row names it:
-- `token_ref` is the secret's name there, `token_place` where it is
-- ('keychain' or 'file'). `device_token` stays for files written before,
-- whose token the app moves out at its next start and then blanks ('').
ALTER TABLE session ADD COLUMN token_ref TEXT;
ALTER TABLE session ADD COLUMN token_place TEXT;
