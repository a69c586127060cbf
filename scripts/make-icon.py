#!/usr/bin/env python3
# Draws the extension's icon, media/icon.png (128x128 RGBA): a CPU chip with an arrow to a second chip, on
# a rounded blue square. Standard library only (zlib + struct); 4x4 supersampling for smooth edges.
# Usage: python3 scripts/make-icon.py [OUT]   (default media/icon.png, relative to the repository)
import os
import struct
import sys
import zlib

SIZE = 128
SS = 4  # samples per pixel side
BG = (0x1f, 0x5f, 0xa8)
CHIP = (0xf2, 0xf5, 0xf9)
CORE = (0x1f, 0x5f, 0xa8)
ARROW = (0xff, 0xc8, 0x3d)


def rounded_rect(x, y, x0, y0, x1, y1, r):
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def chip(x, y, ox, oy, s):
    """A chip of side s at (ox, oy): body, three pins per side, a hollow core. Returns a colour or None."""
    body = rounded_rect(x, y, ox, oy, ox + s, oy + s, s * 0.12)
    core = rounded_rect(x, y, ox + s * 0.3, oy + s * 0.3, ox + s * 0.7, oy + s * 0.7, s * 0.06)
    if core:
        return CORE
    if body:
        return CHIP
    pin_len, pin_w = s * 0.16, s * 0.1
    for k in range(3):
        c = ox + s * (0.25 + 0.25 * k)
        if abs(x - c) <= pin_w / 2 and (oy - pin_len <= y < oy or oy + s < y <= oy + s + pin_len):
            return CHIP
        c = oy + s * (0.25 + 0.25 * k)
        if abs(y - c) <= pin_w / 2 and (ox - pin_len <= x < ox or ox + s < x <= ox + s + pin_len):
            return CHIP
    return None


def arrow(x, y):
    """A right-pointing arrow between the chips (shaft and head)."""
    if 58 <= x <= 70 and abs(y - 64) <= 4:
        return True
    if 68 <= x <= 80 and abs(y - 64) <= (80 - x) * 0.85:
        return True
    return False


def sample(x, y):
    if not rounded_rect(x, y, 0, 0, SIZE, SIZE, 22):
        return None
    for ox, oy, s in ((12, 40, 40), (88, 44, 30)):
        c = chip(x, y, ox, oy, s)
        if c:
            return c
    if arrow(x, y):
        return ARROW
    return BG


def render():
    rows = []
    for py in range(SIZE):
        row = bytearray([0])  # filter type 0
        for px in range(SIZE):
            acc = [0, 0, 0, 0]
            for sy in range(SS):
                for sx in range(SS):
                    c = sample(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                    if c:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 255
            n = SS * SS
            covered = acc[3] / 255
            if covered:
                row += bytes([round(acc[0] / covered), round(acc[1] / covered), round(acc[2] / covered), round(acc[3] / n)])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))
    return b''.join(rows)


def png(raw):
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack('>IIBBBBB', SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')


if __name__ == '__main__':
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, 'media', 'icon.png')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'wb') as f:
        f.write(png(render()))
    print(out)
