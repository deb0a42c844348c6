-- Switching someone off ends what they can do (issue 18).
-- When the server first recorded a share (pushed by sync or first opened),
-- by its own clock: shares.created_at may be the device's time, which the
-- server cannot trust. A share recorded before its device was revoked or
-- its sharer switched off keeps showing its content, crediting no one; one
-- recorded after is not served. Rows from before this migration have none
-- and count from created_at.
ALTER TABLE shares ADD COLUMN recorded_at INTEGER;
-- A server-made invitation closed because its rep was switched off: the
-- switch-off's time. Switching the rep on again reopens these only when the
-- manager chooses to.
ALTER TABLE invitations ADD COLUMN closed_by_switch_off INTEGER;
