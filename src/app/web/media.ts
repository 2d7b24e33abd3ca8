// Pixels from the page's sources: an image file or URL decoded to ImageData with its stored values (no
// colour management, as predict's decoder ignores ICC profiles), and the current frame of a <video>.

/** What a dropped or chosen file is, from its MIME type; '' (unknown type) is tried as an image first. */
export function fileKind(file: { type: string }): 'image' | 'video' | 'unknown' | 'other' {
  if (file.type.startsWith('image/')) return 'image';
  if (file.type.startsWith('video/')) return 'video';
  return file.type === '' ? 'unknown' : 'other';
}

function context(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gave no 2D canvas context');
  return ctx;
}

/** The decoded pixels of an image blob; a blob that is not a decodable image rejects with `name` in the message. */
export async function decodeImage(blob: Blob, name: string, work: HTMLCanvasElement): Promise<ImageData> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new Error(`${name}: cannot be decoded as an image (${(e as Error).message || 'the browser rejected it'})`);
  }
  try {
    const ctx = context(work, bmp.width, bmp.height);
    ctx.clearRect(0, 0, bmp.width, bmp.height);
    ctx.drawImage(bmp, 0, 0);
    return ctx.getImageData(0, 0, bmp.width, bmp.height);
  } finally {
    bmp.close();
  }
}

/** An image fetched from the site (the sample frame). */
export async function fetchImage(url: string, work: HTMLCanvasElement): Promise<ImageData> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  return decodeImage(await res.blob(), url, work);
}

/** The frame a <video> shows now, at its own size. */
export function videoFrame(video: HTMLVideoElement, work: HTMLCanvasElement): ImageData {
  const ctx = context(work, video.videoWidth, video.videoHeight);
  ctx.drawImage(video, 0, 0);
  return ctx.getImageData(0, 0, video.videoWidth, video.videoHeight);
}

/** Why a <video> failed, in words. */
export function mediaErrorText(err: MediaError | null): string {
  if (!err) return 'unknown error';
  const names: Record<number, string> = { 1: 'aborted', 2: 'network error', 3: 'decoding failed', 4: 'format not supported' };
  return `${names[err.code] ?? `error ${err.code}`}${err.message ? `: ${err.message}` : ''}`;
}

/** Puts RGBA pixels on the visible canvas at their own size. */
export function paint(canvas: HTMLCanvasElement, img: ImageData): void {
  context(canvas, img.width, img.height).putImageData(img, 0, 0);
}
