// The suite's chart (tools/_chart.ts), drawn from the committed results: every label inside the
// picture, the axis uncapped, the spread marks there, and (when rsvg-convert is installed) the
// SVG rendered for real.
import assert from "node:assert/strict";
import { chart, type ChartInput, overflowingText } from "../tools/_chart.ts";
import { hasCommand, ROOT } from "./_helpers.ts";

const results = JSON.parse(
  Deno.readTextFileSync(`${ROOT}bench/results/suite.json`),
) as ChartInput;

Deno.test("the chart fits every label and names every row", () => {
  const svg = chart(results);
  assert.deepEqual(overflowingText(svg), []);
  for (const row of [...results.oneThread, ...results.throughput, ...results.roundTrip]) {
    assert.ok(
      svg.includes(row.name.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/`/g, "")),
      row.name,
    );
  }
  assert.equal(
    svg,
    Deno.readTextFileSync(`${ROOT}docs/bench.svg`),
    "docs/bench.svg is drawn from the results",
  );
});

Deno.test("the chart's axis is logarithmic and uncapped, with spreads marked", () => {
  const row = (ratio: number[]): ChartInput["throughput"][number] => ({
    name: "r",
    c: "c",
    ratio,
    spread: [1.0, 2.0],
    cSpread: [1.0, 1.0],
    mbps: [1, 2],
  });
  const svg = chart({
    ...results,
    sizes: [64, 4096],
    oneThread: [],
    roundTrip: [],
    throughput: [row([0.05, 20])],
  });
  const widths = [...svg.matchAll(/<rect x="([\d.]+)" y="\d+" width="([\d.]+)"/g)]
    .map((m) => Number(m[2])).slice(-2);
  // 0.05× and 20× lie about as far from 1× on a log axis (log 20 ≈ log 1/0.05).
  assert.ok(Math.abs((widths[0] ?? 0) - (widths[1] ?? 0)) < 2, JSON.stringify(widths));
  assert.match(svg, /20\.00× ‡/);
  assert.doesNotMatch(svg, /0\.05× ‡/);
});

Deno.test({
  name: "the chart renders (rsvg-convert)",
  ignore: !hasCommand("rsvg-convert"),
  async fn(): Promise<void> {
    const out = await new Deno.Command("rsvg-convert", {
      args: ["-w", "800", `${ROOT}docs/bench.svg`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.deepEqual([...out.stdout.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  },
});
