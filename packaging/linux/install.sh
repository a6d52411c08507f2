#!/bin/sh
# Installer run by WhyLab's self-extracting .run (makeself), from the extracted folder.
#
#   ./whylab-VERSION-linux-ARCH.run                 install for this user (~/.local/opt)
#   sudo ./whylab-VERSION-linux-ARCH.run            install for everyone (/opt, /usr/local)
#   ./whylab-...run -- --prefix DIR                 install the bundle into DIR/whylab
#   sudo ./whylab-...run -- --user                  install for the invoking user's HOME anyway
#   ./whylab-...run -- --uninstall                  remove what an install put in place
#   ./whylab-...run --noexec --target DIR           only unpack (then run DIR/whylab/whylab)
set -eu
umask 022  # makeself extracts under 077; installed files must be readable by all

USER_INSTALL=0
[ "$(id -u)" -eq 0 ] || USER_INSTALL=1
PREFIX="" UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --user) USER_INSTALL=1; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
if [ "$USER_INSTALL" -eq 1 ]; then
    SHARE="${XDG_DATA_HOME:-$HOME/.local/share}" BIN="$HOME/.local/bin"
else
    SHARE=/usr/local/share BIN=/usr/local/bin
fi
# Not ~/.local/share/whylab: that is WhyLab's own data folder (projects, settings).
[ -n "$PREFIX" ] || { [ "$USER_INSTALL" -eq 1 ] && PREFIX="$HOME/.local/opt" || PREFIX=/opt; }
APP="$PREFIX/whylab"

if [ "$UNINSTALL" -eq 1 ]; then
    rm -rf "$APP" "$BIN/whylab" "$SHARE/applications/whylab.desktop" \
        "$SHARE/icons/hicolor/scalable/apps/whylab.svg"
    echo "WhyLab removed (your projects and settings are kept)."
    exit 0
fi

mkdir -p "$PREFIX" "$BIN" "$SHARE/applications" "$SHARE/icons/hicolor/scalable/apps"
rm -rf "$APP.new"
cp -R whylab "$APP.new"
chmod -R u+rwX,go+rX,go-w "$APP.new"
rm -rf "$APP"
mv "$APP.new" "$APP"
ln -sf "$APP/whylab" "$BIN/whylab"
sed "s|^Exec=whylab|Exec=$APP/whylab|; s|^TryExec=whylab|TryExec=$APP/whylab|" whylab.desktop \
    >"$SHARE/applications/whylab.desktop"
cp whylab.svg "$SHARE/icons/hicolor/scalable/apps/whylab.svg"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
echo "WhyLab installed in $APP; start it from your applications menu or run: $BIN/whylab"
