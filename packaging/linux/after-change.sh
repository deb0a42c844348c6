#!/bin/sh
# After the package's files are installed or removed: refresh the desktop
# database, so the warmlead:// scheme (MimeType in the desktop entry) reaches
# the app, or nothing any more. Debian and Fedora also do this through
# desktop-file-utils' triggers; other systems may not.
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q /usr/share/applications || true
fi
exit 0
