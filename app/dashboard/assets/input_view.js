// The certified input: the upload as the model saw it (resized to the model's input size,
// grey when the model takes one channel), with the certificate's patches (one picture each)
// or clips marked.

import {request} from './api.js';
import {el} from './dom.js';
import {bytes} from './format.js';

const EXTENSIONS = {'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif',
                    'image/bmp': 'bmp', 'image/tiff': 'tif', 'image/webp': 'webp',
                    'video/mp4': 'mp4', 'video/x-matroska': 'mkv', 'video/x-msvideo': 'avi'};

function canvasOf(width, height) {
  return el('canvas', {width, height, class: 'pixels'});
}

// Draw `source` at the certified size, converted to grey (Pillow's "L" weights) for
// one-channel models, as the service's decoder does.
function drawCertified(canvas, source, channels) {
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  if (channels !== 1) return;
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const pixels = image.data;
  for (let i = 0; i < pixels.length; i += 4) {
    const grey = (pixels[i] * 299 + pixels[i + 1] * 587 + pixels[i + 2] * 114) / 1000;
    pixels[i] = pixels[i + 1] = pixels[i + 2] = grey;
  }
  context.putImageData(image, 0, 0);
}

// Each patch as [top, left, height, width] in the certified image's pixels.
function patchBoxes(geometry, height, width) {
  const [resizedHeight, resizedWidth] = geometry.resize ?? geometry.input_size;
  const scaleY = height / resizedHeight;
  const scaleX = width / resizedWidth;
  const [patchHeight, patchWidth] = geometry.patch_size;
  return geometry.offsets.map(([row, column]) => [row * scaleY, column * scaleX,
                                                  patchHeight * scaleY, patchWidth * scaleX]);
}

// Drawn this many times larger than the certified image, so a patch's edge is a crisp line.
const THUMB_SCALE = 4;

// One patch: the image with what lies outside the patch washed over and the patch outlined.
// Many overlapping boxes on one image read as lines along the borders; one per picture
// shows where each patch really is.
function patchThumb(source, box, index, geometry) {
  const [top, left, boxHeight, boxWidth] = box.map((value) => value * THUMB_SCALE);
  const canvas = el('canvas', {width: source.width * THUMB_SCALE,
                               height: source.height * THUMB_SCALE, class: 'patch-pixels'});
  const context = canvas.getContext('2d');
  context.imageSmoothingEnabled = false;
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  // A blue wash, seen on dark and on light images alike.
  context.fillStyle = 'rgba(70, 110, 230, 0.6)';
  context.beginPath();
  context.rect(0, 0, canvas.width, canvas.height);
  context.rect(left, top, boxWidth, boxHeight);
  context.fill('evenodd');
  context.lineWidth = THUMB_SCALE / 2;
  context.strokeStyle = '#ff8c1a';
  context.strokeRect(left, top, boxWidth, boxHeight);
  const [row, column] = geometry.offsets[index];
  const label = `Patch ${index + 1}: row ${row}, column ${column}`;
  return el('figure', {class: 'patch-thumb', role: 'img', 'aria-label': label},
            canvas, el('figcaption', {text: `${index + 1} · (${row}, ${column})`}));
}

function patchMultiples(source, geometry, height, width) {
  const [resizedHeight, resizedWidth] = geometry.resize ?? geometry.input_size;
  const [patchHeight, patchWidth] = geometry.patch_size;
  const share = Math.round(100 * (patchHeight * patchWidth) / (resizedHeight * resizedWidth));
  const boxes = patchBoxes(geometry, height, width);
  return el('div', {class: 'patches'},
            el('p', {class: 'help', text: `The ${geometry.k} patches, one per picture (outside `
              + `the patch shaded blue). Each covers ${patchHeight}×${patchWidth} of the `
              + `${resizedHeight}×${resizedWidth} resized image (${share}%); the captions give `
              + 'its top-left corner (row, column) there.'}),
            el('div', {class: 'patch-grid'},
               boxes.map((box, index) => patchThumb(source, box, index, geometry))));
}

function imageFigure(bitmap, cert, note) {
  const [channels, height, width] = cert.input.shape;
  const canvas = canvasOf(width, height);
  if (bitmap) drawCertified(canvas, bitmap, channels);
  const geometry = cert.geometry;
  const caption = geometry?.offsets
    ? `The certified ${width}×${height} image, then the ${geometry.k} patches of the certificate `
      + `(each ${geometry.patch_size.join('×')} of the ${(geometry.resize ?? geometry.input_size).join('×')} `
      + 'image, resized for the model).'
    : `The certified ${width}×${height} image; the model sees it whole (no patches).`;
  return el('figure', {class: 'certified-input'},
            el('div', {class: 'stage', role: 'img', 'aria-label': caption}, canvas),
            geometry?.offsets ? patchMultiples(canvas, geometry, height, width) : [],
            el('figcaption', {}, caption, note ? ` ${note}` : ''));
}

async function seek(video, time) {
  await new Promise((resolve, reject) => {
    video.addEventListener('seeked', resolve, {once: true});
    video.addEventListener('error', reject, {once: true});
    video.currentTime = time;
  });
}

async function loadVideo(blobUrl) {
  const video = el('video', {muted: true, preload: 'auto', src: blobUrl});
  await new Promise((resolve, reject) => {
    video.addEventListener('loadeddata', resolve, {once: true});
    video.addEventListener('error', reject, {once: true});
    video.load();
  });
  return video;
}

function clipMarks(geometry, frames) {
  if (!geometry?.starts) {
    return [el('div', {class: 'clip whole', text: 'The model sees all frames at once (no clips).'})];
  }
  return geometry.starts.map((start, index) => {
    const last = Math.min(frames, start + geometry.clip_length) - 1;
    const mark = el('div', {class: `clip patch-${index % 6}`,
                            text: `clip ${index + 1}: frames ${start}–${last}`});
    mark.style.gridColumn = `${start + 1} / span ${last - start + 1}`;
    return mark;
  });
}

async function videoFigure(blobUrl, cert) {
  const [channels, frames, height, width] = cert.input.shape;
  const canvases = Array.from({length: frames}, () => canvasOf(width, height));
  let note = '';
  try {
    const video = await loadVideo(blobUrl);
    const times = cert.input.frame_timestamps_s ?? [];
    for (let index = 0; index < frames && index < times.length; index += 1) {
      await seek(video, times[index] + 0.001);
      drawCertified(canvases[index], video, channels);
    }
  } catch {
    note = 'This browser cannot decode the video; the frames are left blank.';
  }
  const strip = el('div', {class: 'strip'},
                   canvases.map((canvas, index) => el('div', {class: 'frame'}, canvas,
                                                      el('span', {text: String(index)}))),
                   clipMarks(cert.geometry, frames));
  strip.style.gridTemplateColumns = `repeat(${frames}, minmax(0, 1fr))`;
  const caption = `The ${frames} certified frames (${width}×${height}), in order`
    + (cert.geometry?.starts ? `, and the ${cert.geometry.k} clips of the certificate.` : '.');
  return el('figure', {class: 'certified-input video'}, strip,
            el('figcaption', {}, caption, note ? ` ${note}` : ''));
}

async function decodeImage(blob) {
  try {
    return await createImageBitmap(blob, {imageOrientation: 'none'});
  } catch {
    return null;
  }
}

/** The input section of a succeeded job; explains instead when the upload has expired. */
export async function inputSection(jobId, cert) {
  const section = el('section', {class: 'panel', 'aria-labelledby': 'input-title'},
                     el('h2', {id: 'input-title', text: 'Input'}));
  let blob;
  try {
    blob = await (await request(`/jobs/${encodeURIComponent(jobId)}/input`)).blob();
  } catch (error) {
    section.append(el('p', {class: 'note', text: `The upload cannot be shown: ${error.detail}`}));
    return section;
  }
  const blobUrl = URL.createObjectURL(blob);
  const isVideo = cert.input.shape.length === 4;
  if (isVideo) {
    section.append(await videoFigure(blobUrl, cert));
  } else {
    const bitmap = await decodeImage(blob);
    section.append(imageFigure(bitmap, cert, bitmap ? '' : 'This browser cannot show this image format.'));
  }
  const name = `job-${jobId}.${EXTENSIONS[blob.type] ?? 'bin'}`;
  section.append(el('p', {}, el('a', {href: blobUrl, download: name, text: `Download the upload`}),
                    ` (${blob.type || 'unknown type'}, ${bytes(blob.size)}) as ${name}.`));
  return section;
}

export function uploadName(jobId, mediaType) {
  return `job-${jobId}.${EXTENSIONS[mediaType] ?? 'bin'}`;
}
