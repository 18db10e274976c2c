// ThumbHash placeholders, decoded in the page (imgflow/image/placeholder.py encodes them): no library, no CDN.
// A hash is a few DCT terms of luminance, two chroma planes and alpha; decoding renders them at <= 32 px,
// painted on a <canvas> (no data: or blob: URL, so the page's CSP is untouched) and stretched by CSS.

function fromBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

// The terms of one channel: nx x ny in the triangle cx * ny < nx * (ny - cy), DC excluded, 4 bits each.
function terms(hash, start, index, nx, ny, scale) {
  const ac = [];
  for (let cy = 0; cy < ny; cy++) {
    for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, index++) {
      ac.push((((hash[start + (index >> 1)] >> ((index & 1) << 2)) & 15) / 7.5 - 1) * scale);
    }
  }
  return [ac, index];
}

// -> {width, height, rgba: Uint8ClampedArray}
export function decodeThumbHash(text) {
  const hash = fromBase64(text);
  const h24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
  const h16 = hash[3] | (hash[4] << 8);
  const lDc = (h24 & 63) / 63;
  const pDc = ((h24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((h24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((h24 >> 18) & 31) / 31;
  const hasAlpha = h24 >> 23;
  const pScale = ((h16 >> 3) & 63) / 63;
  const qScale = ((h16 >> 9) & 63) / 63;
  const landscape = h16 >> 15;
  const lx = Math.max(3, landscape ? (hasAlpha ? 5 : 7) : h16 & 7);
  const ly = Math.max(3, landscape ? h16 & 7 : hasAlpha ? 5 : 7);
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1;
  const aScale = (hash[5] >> 4) / 15;
  const start = hasAlpha ? 6 : 5;
  let index = 0;
  let lAc, pAc, qAc, aAc;
  [lAc, index] = terms(hash, start, index, lx, ly, lScale);
  [pAc, index] = terms(hash, start, index, 3, 3, pScale * 1.25); // saturation boost, as the encoder expects
  [qAc, index] = terms(hash, start, index, 3, 3, qScale * 1.25);
  if (hasAlpha) [aAc, index] = terms(hash, start, index, 5, 5, aScale);

  const ratio = (landscape ? (hasAlpha ? 5 : 7) : h16 & 7) / (landscape ? h16 & 7 : hasAlpha ? 5 : 7);
  const width = Math.round(ratio > 1 ? 32 : 32 * ratio);
  const height = Math.round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8ClampedArray(width * height * 4);
  const cxStop = Math.max(lx, hasAlpha ? 5 : 3);
  const cyStop = Math.max(ly, hasAlpha ? 5 : 3);
  const fx = new Float64Array(cxStop);
  const fy = new Float64Array(cyStop);
  for (let y = 0, i = 0; y < height; y++) {
    for (let cy = 0; cy < cyStop; cy++) fy[cy] = Math.cos((Math.PI / height) * (y + 0.5) * cy);
    for (let x = 0; x < width; x++, i += 4) {
      for (let cx = 0; cx < cxStop; cx++) fx[cx] = Math.cos((Math.PI / width) * (x + 0.5) * cx);
      let l = lDc, p = pDc, q = qDc, a = aDc;
      for (let cy = 0, j = 0; cy < ly; cy++) {
        for (let cx = cy ? 0 : 1; cx * ly < lx * (ly - cy); cx++, j++) l += lAc[j] * fx[cx] * fy[cy] * 2;
      }
      for (let cy = 0, j = 0; cy < 3; cy++) {
        for (let cx = cy ? 0 : 1; cx < 3 - cy; cx++, j++) {
          const f = fx[cx] * fy[cy] * 2;
          p += pAc[j] * f;
          q += qAc[j] * f;
        }
      }
      if (hasAlpha) {
        for (let cy = 0, j = 0; cy < 5; cy++) {
          for (let cx = cy ? 0 : 1; cx < 5 - cy; cx++, j++) a += aAc[j] * fx[cx] * fy[cy] * 2;
        }
      }
      const b = l - (2 / 3) * p;
      const r = (3 * l - b + q) / 2;
      rgba[i] = 255 * r;
      rgba[i + 1] = 255 * (r - q);
      rgba[i + 2] = 255 * b;
      rgba[i + 3] = 255 * a;
    }
  }
  return { width, height, rgba };
}

// A <canvas> showing the placeholder ({kind, hash, color}), or null when there is none to paint.
export function placeholderCanvas(placeholder) {
  if (!placeholder || placeholder.kind !== "thumbhash" || !placeholder.hash) return null;
  let image;
  try {
    image = decodeThumbHash(placeholder.hash);
  } catch {
    return null;
  }
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.className = "thumbhash";
  canvas.setAttribute("aria-hidden", "true");
  canvas.dataset.color = placeholder.color || "";
  canvas.getContext("2d").putImageData(new ImageData(image.rgba, image.width, image.height), 0, 0);
  return canvas;
}
