#!/usr/bin/env node
// Render a results file of bench/run.mjs as the Markdown tables of docs/performance.md.
//
//   node bench/table.mjs bench/results/<file>.json
//
// Prints the machine line, the load-scenario table, the open-streams table and the
// issue-10 targets, so a later run can replace the figures in the doc as they are.

import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/table.mjs <results.json>');
  process.exit(2);
}
const { meta, results } = JSON.parse(readFileSync(file, 'utf8'));
const f = (v, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');
const sg = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '–');
const i = (v) => (typeof v === 'number' && Number.isFinite(v) ? String(Math.round(v)) : '–');
const row = (cells) => `| ${cells.join(' | ')} |`;
const noise = (s) => Math.max(0, ...Object.values(s.targets).flatMap((t) => ['throughput', 'rate', 'streams'].map((k) => t?.[k]?.otherCpuPct ?? 0)));

const c = meta.config;
console.log(
  `Run of ${meta.date}: node ${meta.node}, ${meta.cpus} × ${meta.cpuModel}, pinning ${meta.pinned ? 'on' : 'off'}, ` +
    `load average before ${meta.loadavg?.map((x) => x.toFixed(1)).join(' / ') ?? '?'}, background CPU before ${meta.backgroundCpuPctBefore ?? '?'}% of a core; ` +
    `${c.rounds} rounds A B A B, ${c.duration} s windows, fixed rate ${c.rate} RPS (100 KB ${c.largeRate}, 1 MB ${c.hugeRate}); passthrough ${c.passthroughJson ? 'parses + re-serialises' : 'pipes bytes'}.\n`,
);

const load = results.filter((s) => s.kind === 'load');
if (load.length) {
  console.log(row(['scenario', 'gw RPS', '× direct', '× passthrough', 'gw µs/req', 'pt µs/req', 'added p50 ms', 'added p99 ms', 'p99 × pt', 'added TTFB ms', 'gw eld p99 / max ms', 'gw RSS MB', 'noise %']));
  console.log(row(Array(13).fill('---')));
  for (const s of load) {
    const gw = s.targets.gateway;
    const pt = s.targets.passthrough;
    const d = s.comparisons.gatewayVsDirect ?? {};
    const p = s.comparisons.gatewayVsPassthrough ?? {};
    const over = gw?.rate?.rps && gw.rate.rps < 0.95 * s.rate ? ` (served ${i(gw.rate.rps)}/${s.rate})` : '';
    console.log(
      row([
        `\`${s.name}\``,
        gw?.error ? 'FAILED' : i(gw?.throughput?.rps),
        f(d.rpsRatio),
        f(p.rpsRatio),
        i(gw?.throughput?.cpu?.target?.usPerReq),
        i(pt?.throughput?.cpu?.target?.usPerReq),
        sg(p.addedP50Ms) + over,
        sg(p.addedP99Ms),
        f(p.p99Ratio),
        s.stream ? sg(p.addedTtfbP50Ms) : '',
        `${f(gw?.rate?.eld?.p99)} / ${f(gw?.rate?.eld?.max)}`,
        i(gw?.rate?.rssMB),
        i(noise(s)),
      ]),
    );
  }
  console.log('\nAdded figures are the gateway minus the passthrough at the fixed rate.\n');
}

const streams = results.filter((s) => s.kind === 'streams');
if (streams.length) {
  console.log(row(['scenario', 'target', 'open in the window', 'time to open all s', 'TTFB p50 / p99 ms', 'RSS MB (idle)', 'heap MB', 'eld p99 / max ms']));
  console.log(row(Array(8).fill('---')));
  for (const s of streams) {
    for (const [t, r] of Object.entries(s.targets)) {
      const x = r.streams;
      if (!x || x.error) {
        console.log(row([`\`${s.name}\``, t, 'FAILED', '', '', '', '', '']));
        continue;
      }
      console.log(
        row([`\`${s.name}\``, t, `${x.openAtWindowStart} / ${x.count} (max ${x.maxOpen})`, f(x.openMs / 1000, 1), `${f(x.ttfb?.p50)} / ${f(x.ttfb?.p99)}`, `${f(x.rssMB, 1)} (${f(r.idleRssMB, 1)})`, f(x.heapMB?.heapUsed, 1), `${f(x.eld?.p99)} / ${f(x.eld?.max)}`]),
      );
    }
  }
  console.log('');
}

const targets = results.flatMap((s) => (s.targetsMet ?? []).map((t) => ({ ...t, scenario: s.name })));
if (targets.length) {
  console.log(`Issue-10 targets: ${targets.filter((t) => t.mark === 'pass').length} of ${targets.length} met.\n`);
  console.log(row(['target', 'scenario', 'value', '']));
  console.log(row(['---', '---', '---', '---']));
  for (const t of targets) console.log(row([t.text, `\`${t.scenario}\``, t.shown, t.mark]));
}
