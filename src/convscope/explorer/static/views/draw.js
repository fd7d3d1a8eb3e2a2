// Drawing helpers shared by the views: decode the server's base64 pictures and paint them.
// Pictures arrive already scaled to 0-255 by the server; here they are only looked up
// in a palette (256 RGB triples, also from the server). No numerics happen here.

export function bytes(base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export function toBase64(array) {
  let text = "";
  for (let i = 0; i < array.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, array.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

// Paint `height × width` values of `data` starting at `offset` into a canvas.
// palette: Uint8Array of 768 bytes, or null for gray (and RGB when `channels` is 3).
export function paint(canvas, data, offset, height, width, palette, channels = 1) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    const v = data[offset + i];
    let r = v, g = v, b = v;
    if (channels === 3) {
      g = data[offset + plane + i];
      b = data[offset + 2 * plane + i];
    } else if (palette) {
      r = palette[3 * v]; g = palette[3 * v + 1]; b = palette[3 * v + 2];
    }
    image.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// A picture {shape: [C, H, W] or [H, W], data} as one canvas (gray, RGB or palette).
export function paintPicture(canvas, picture, palette = null) {
  const shape = picture.shape;
  const data = bytes(picture.data);
  if (shape.length === 2) return paint(canvas, data, 0, shape[0], shape[1], palette);
  const channels = shape[0] === 3 ? 3 : 1;
  return paint(canvas, data, 0, shape[1], shape[2], channels === 3 ? null : palette, channels);
}

// Outline boxes [top, left, bottom, right] (bottom/right exclusive) on an overlay
// canvas sized like a map of `height × width` cells drawn `scale` pixels per cell.
export function outline(canvas, boxes, height, width, scale, color = "#ff3b30") {
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  for (const [top, left, bottom, right] of boxes) {
    ctx.strokeRect(left * scale + 1, top * scale + 1, (right - left) * scale - 2, (bottom - top) * scale - 2);
  }
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
