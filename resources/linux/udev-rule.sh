#!/bin/sh
# Install or remove the DSC+ udev rule (SPEC N3, C2) so a signed-in user can open the card's
# hidraw node without root. Called by the deb's after-install/after-remove scripts; AppImage
# users run it once by hand: `sudo sh udev-rule.sh install RULES_FILE`.
#   udev-rule.sh install [RULE_SOURCE]   copy the rule to /usr/lib/udev/rules.d and reload udev
#   udev-rule.sh remove                  delete it and reload udev
# DPKG_ROOT (set by dpkg, empty on a normal system) prefixes every path, so tests and image
# builders can install into a staging root.
set -eu
RULE_NAME=70-dscplus.rules
ROOT="${DPKG_ROOT:-}"
RULES_DIR="$ROOT/usr/lib/udev/rules.d"
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

reload_udev() {
  # No udev in containers and chroots: the rule is still in place for the next boot.
  if command -v udevadm >/dev/null 2>&1 && [ -z "$ROOT" -o -n "${SLS_UDEV_FORCE_RELOAD:-}" ]; then
    udevadm control --reload-rules || true
    udevadm trigger --subsystem-match=hidraw --action=change || true
    udevadm trigger --subsystem-match=usb --action=change || true
  fi
}

case "${1:-}" in
  install)
    SOURCE="${2:-$HERE/$RULE_NAME}"
    [ -f "$SOURCE" ] || { echo "udev-rule.sh: rule file not found: $SOURCE" >&2; exit 2; }
    mkdir -p "$RULES_DIR"
    cp -f "$SOURCE" "$RULES_DIR/$RULE_NAME"
    chmod 0644 "$RULES_DIR/$RULE_NAME"
    reload_udev
    ;;
  remove)
    rm -f "$RULES_DIR/$RULE_NAME"
    reload_udev
    ;;
  *)
    echo "usage: udev-rule.sh install [RULE_FILE] | remove" >&2
    exit 64
    ;;
esac
