#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""png_colour.py FILE X0 Y0 X1 Y1: counts the saturated pixels (max channel - min channel > 100) in the
rectangle [X0, X1) x [Y0, Y1) of an 8-bit RGB or RGBA PNG, as loopsim's screenshots are. The viewer draws its
chrome in greys; players' ships, bullets and labels are in their player's colour, so the count says whether
a region shows anything of a game. Standard library only, so that a shell test can look at a screenshot."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("%s: not a PNG" % path)
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise SystemExit("%s: only 8-bit RGB or RGBA, not interlaced" % path)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return rows, bpp


def main():
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    rows, bpp = pixels(sys.argv[1])
    x0, y0, x1, y1 = (int(v) for v in sys.argv[2:6])
    count = 0
    for y in range(y0, min(y1, len(rows))):
        row = rows[y]
        for x in range(x0, min(x1, len(row) // bpp)):
            r, g, b = row[x * bpp:x * bpp + 3]
            count += max(r, g, b) - min(r, g, b) > 100
    print(count)


if __name__ == "__main__":
    main()
