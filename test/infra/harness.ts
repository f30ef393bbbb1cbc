// The tests run the program the same way `npm run render` does: offline, under Pulumi's mocks.
export * from '../../tools/offline-program';
import '../chart-cache-guard';
