#!/bin/sh
# Renders Warmlead's app icons with ImageMagick: a warm-orange (#E8590C)
# rounded square with a white 暖 ("warm"). Needs imagemagick, fonts-noto-cjk
# and, for the Windows .ico and the macOS .icns, the Tauri command line in
# packaging/ (`npm install` there). Run from anywhere: `sh icons/make-icons.sh`;
# the icons are committed, so a build never needs this. Tauri wants RGBA PNGs
# (PNG32).
set -eu
cd "$(dirname "$0")"
convert -size 1024x1024 xc:none \
  -fill '#E8590C' -draw "roundrectangle 64,64 960,960 200,200" \
  -font Noto-Sans-CJK-SC-Bold -pointsize 600 -fill white \
  -gravity center -annotate +0+0 '暖' \
  PNG32:master.png
convert master.png -resize 32x32 PNG32:32x32.png
convert master.png -resize 128x128 PNG32:128x128.png
convert master.png -resize 256x256 PNG32:256x256.png
convert master.png -resize 512x512 PNG32:icon.png
tmp=$(mktemp -d)
../packaging/node_modules/.bin/tauri icon master.png -o "$tmp" >/dev/null 2>&1
cp "$tmp/icon.ico" "$tmp/icon.icns" .
rm -r "$tmp" master.png
