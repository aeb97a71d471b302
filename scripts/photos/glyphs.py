# Renders the digits 0-9 from a few installed fonts (Debian fonts-dejavu, fonts-liberation) as
# 8-bit coverage masks and writes them to test/fixtures/photos/glyphs.json, so the photo generator
# (scripts/photos/scenes.ts) composes printed digits with no Python or font rasteriser at test time.
# Run once: /usr/bin/python3 scripts/photos/glyphs.py   (needs python3-pil)
import base64, json, os
from PIL import Image, ImageDraw, ImageFont

FONTS = [
    '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    '/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf',
    '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    '/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf',
    '/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf',
]
SIZE = 48

out = {'size': SIZE, 'glyphs': []}
for path in FONTS:
    font = ImageFont.truetype(path, SIZE)
    for d in range(10):
        img = Image.new('L', (SIZE * 2, SIZE * 2), 0)
        ImageDraw.Draw(img).text((SIZE // 2, SIZE // 4), str(d), fill=255, font=font)
        box = img.getbbox()
        crop = img.crop(box)
        out['glyphs'].append({
            'font': os.path.basename(path)[:-4],
            'digit': d,
            'width': crop.width,
            'height': crop.height,
            'data': base64.b64encode(crop.tobytes()).decode('ascii'),
        })
dest = os.path.join(os.path.dirname(__file__), '../../test/fixtures/photos/glyphs.json')
with open(dest, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(f"{len(out['glyphs'])} glyphs written to {os.path.normpath(dest)}")
