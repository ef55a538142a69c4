// Preload for a benchmarked server process: `node --import <this file> <entry> ...`.
//
// Measures the process from the inside without touching its code:
//   - event-loop delay (perf_hooks.monitorEventLoopDelay, resolution BENCH_ELD_RESOLUTION ms, default 1),
//     reported as lateness: the histogram holds the time between timer runs, so the
//     resolution itself is subtracted (an idle loop reads ~0, not ~resolution)
//   - GC pauses (PerformanceObserver 'gc')
//   - process.memoryUsage() and process.cpuUsage()
// and answers on a side port, BENCH_ELD_PORT (loopback only):
//   GET /reset   clear the histogram and GC totals (start of a measured window)
//   GET /read    JSON of everything since the last reset (end of a window)
// Without BENCH_ELD_PORT it does nothing. It stays out of worker threads, and its
// server is unref'd so it never keeps the process alive. A request to the side port
// costs the process one small HTTP exchange per window, nothing per request.

import http from 'node:http';
import { isMainThread } from 'node:worker_threads';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

const port = Number(process.env.BENCH_ELD_PORT);

if (isMainThread && Number.isInteger(port) && port > 0) {
  const resolution = Math.max(1, Number(process.env.BENCH_ELD_RESOLUTION) || 1);
  const h = monitorEventLoopDelay({ resolution });
  h.enable();
  let gc = { count: 0, totalMs: 0, maxMs: 0 };
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      if (e.duration > gc.maxMs) gc.maxMs = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });

  const ms = (ns) => Math.max(0, Math.round((ns - resolution * 1e6) / 1e4) / 100); // ns between runs -> ms late, 2 decimals
  const read = () => {
    const cpu = process.cpuUsage(cpu0);
    const mem = process.memoryUsage();
    const count = h.count;
    return {
      resolutionMs: resolution,
      windowMs: Math.round(performance.now() - t0),
      eld: count
        ? { n: count, mean: ms(h.mean), p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max) }
        : null,
      gc: { count: gc.count, totalMs: Math.round(gc.totalMs * 100) / 100, maxMs: Math.round(gc.maxMs * 100) / 100 },
      cpuUs: { user: cpu.user, system: cpu.system },
      memMB: {
        rss: Math.round(mem.rss / 104857.6) / 10,
        heapUsed: Math.round(mem.heapUsed / 104857.6) / 10,
        heapTotal: Math.round(mem.heapTotal / 104857.6) / 10,
        external: Math.round(mem.external / 104857.6) / 10,
        arrayBuffers: Math.round(mem.arrayBuffers / 104857.6) / 10,
      },
    };
  };
  const server = http.createServer((req, res) => {
    let body;
    if (req.url === '/reset') {
      h.reset();
      gc = { count: 0, totalMs: 0, maxMs: 0 };
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      body = '{"ok":true}';
    } else if (req.url === '/read') body = JSON.stringify(read());
    else {
      res.writeHead(404).end();
      return;
    }
    // connection: close, so no idle keep-alive socket holds the process open at exit
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  server.on('error', (err) => process.stderr.write(`eld-probe: side port ${port}: ${err.message}\n`));
  server.listen(port, '127.0.0.1');
  server.unref();
}
