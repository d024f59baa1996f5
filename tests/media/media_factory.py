"""Small media files made on the spot: images with Pillow, audio and video with PyAV,
documents with Pillow (pdf) and python-docx."""

from __future__ import annotations

import io
import math
from fractions import Fraction

import av
import docx
import numpy as np
from PIL import Image


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    picture = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    out = io.BytesIO()
    if fmt == "GIF":
        second = Image.new("RGB", size, (30, 30, 200))
        picture.convert("RGB").save(out, "GIF", save_all=True, append_images=[second])
    else:
        picture.save(out, fmt)
    return out.getvalue()


def truncated_png() -> bytes:
    noisy = Image.effect_noise((300, 300), 64).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    data = out.getvalue()
    return data[: len(data) // 2]


# container format, codec, sample rate
AUDIO = {
    "wav": ("wav", "pcm_s16le", 16000),
    "mp3": ("mp3", "libmp3lame", 44100),
    "ogg": ("ogg", "libopus", 48000),
    "m4a": ("ipod", "aac", 44100),
    "webm": ("webm", "libopus", 48000),
}


def _tone(rate: int, seconds: float, channels: int = 1) -> list[av.AudioFrame]:
    frames = []
    step = 1024
    total = int(rate * seconds)
    t = 0
    layout = "mono" if channels == 1 else "stereo"
    while t < total:
        n = min(step, total - t)
        x = np.arange(t, t + n) / rate
        wave = (np.sin(2 * math.pi * 440 * x) * 0.3 * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = rate
        frame.pts = t
        frame.time_base = Fraction(1, rate)
        frames.append(frame)
        t += n
    return frames


def audio(ext: str = "wav", seconds: float = 1.0) -> bytes:
    container_fmt, codec, rate = AUDIO[ext]
    out = io.BytesIO()
    with av.open(out, "w", format=container_fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        _encode_audio(container, stream, rate, seconds)
    return out.getvalue()


def _encode_audio(container, stream, rate: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    for frame in _tone(rate, seconds):
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def video(ext: str = "mp4", seconds: float = 3.0, fps: int = 10, with_audio: bool = True,
          size: tuple[int, int] = (160, 120)) -> bytes:  # fmt: skip
    container_fmt, vcodec, acodec, rate = {
        "mp4": ("mp4", "libx264", "aac", 44100),
        "mov": ("mov", "libx264", "aac", 44100),
        "webm": ("webm", "libvpx", "libopus", 48000),
    }[ext]
    out = io.BytesIO()
    with av.open(out, "w", format=container_fmt) as container:
        vstream = container.add_stream(vcodec, rate=fps)
        vstream.width, vstream.height = size
        vstream.pix_fmt = "yuv420p"
        astream = None
        if with_audio:
            astream = container.add_stream(acodec, rate=rate)
            astream.layout = "mono"
        for i in range(int(seconds * fps)):
            shade = int(255 * i / (seconds * fps))
            array = np.full((size[1], size[0], 3), shade, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in vstream.encode(frame):
                container.mux(packet)
        for packet in vstream.encode(None):
            container.mux(packet)
        if astream is not None:
            _encode_audio(container, astream, rate, seconds)
    return out.getvalue()


def pdf(pages: int = 2, text: bool = False) -> bytes:
    """A pdf of blank pages (Pillow), or with text when `text` (hand-written pdf)."""
    if text:
        return _text_pdf(["Hello from page one", "And page two"][:pages])
    out = io.BytesIO()
    images = [Image.new("RGB", (100, 100), "white") for _ in range(pages)]
    images[0].save(out, "PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def _text_pdf(lines: list[str]) -> bytes:
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(lines)))
    font = 3 + 2 * len(lines)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(lines)} >>".encode())
    for i, line in enumerate(lines):
        stream = f"BT /F1 12 Tf 20 50 Td ({line}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents {4 + 2 * i} 0 R"
            f" /Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def docx_file(paragraphs: tuple[str, ...] = ("Hello docx", "Second paragraph")) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_file() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
