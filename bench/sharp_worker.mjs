// Long-lived sharp worker for `python -m bench`: one JSON request per stdin line, one JSON reply per line.
// Request: {"task": "A" | "B", "input": path, "out": path prefix or null}. Reply: {"wall_ms", "cpu_ms", "outputs"}.
// Timings are taken here, around the sharp calls only (buffer in, buffers out); outputs are written after.
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import sharp from "sharp";

sharp.cache(false);
sharp.concurrency(1);
const inputs = new Map();
const VERSIONS = { sharp: sharp.versions.sharp, vips: sharp.versions.vips };
const TASKS = {
  // sharp's own benchmark (test/bench/perf.js): resize(720, 588), default fit "cover", JPEG q80.
  A: async (buf) => [await sharp(buf).resize(720, 588).jpeg({ quality: 80 }).toBuffer()],
  // Three pipelines from the JPEG buffer (shrink-on-load per rendition), longest side 2048, 1024, 256.
  B: async (buf) => {
    const out = [];
    for (const side of [2048, 1024, 256]) {
      out.push(await sharp(buf).resize(side, side, { fit: "inside" }).jpeg({ quality: 80 }).toBuffer());
    }
    return out;
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  if (!inputs.has(req.input)) inputs.set(req.input, readFileSync(req.input));
  const buf = inputs.get(req.input);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = await TASKS[req.task](buf);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const outputs = [];
  if (req.out) {
    out.forEach((data, i) => {
      const path = `${req.out}.${i}.jpg`;
      writeFileSync(path, data);
      outputs.push(path);
    });
  }
  process.stdout.write(
    JSON.stringify({ wall_ms: wallMs, cpu_ms: (cpu.user + cpu.system) / 1000, outputs, versions: VERSIONS }) +
      "\n",
  );
}
