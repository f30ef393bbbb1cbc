// Imported by every suite that runs the program or renders its charts: one root hook checks the chart cache
// once, before any test, so a clone whose cache is empty (or not the locked charts) stops with one message
// naming `npm run charts`, instead of a failure per render, release and program run.
import { assertChartCacheReady } from '../tools/chart-cache';

// Outside mocha (a tool importing a test helper) there is no hook to register.
if (typeof before === 'function') {
  before('the chart cache holds every pinned chart and manifest, as locked', function () {
    assertChartCacheReady();
  });
}
