#!/bin/sh
# Installs the comparison tools for `npm run bench` from Debian's own packages:
# restic, borgbackup and GNU time (for peak-RSS measurements). Nothing else is downloaded.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends restic borgbackup time
restic version || true
borg --version || true
