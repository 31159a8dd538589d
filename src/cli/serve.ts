// Runs the collector until SIGINT or SIGTERM, then drains and exits; a second signal forces exit.
import type { Factories } from '../component/component.ts';
import { Collector } from '../collector.ts';

export async function serve(configPaths: string[], factories: Factories): Promise<number> {
  const collector = await Collector.create({ configPaths, factories });
  const log = collector.logger;
  let exitCode = 0;
  let signalled = false;
  const done = new Promise<void>((resolve) => {
    const stop = (reason: string, code: number) => {
      if (signalled) {
        log.warn('second stop request: exiting without draining', { reason });
        process.exit(code || 1);
      }
      signalled = true;
      exitCode = code;
      log.info('stop requested', { reason });
      collector.shutdown().then(resolve, resolve);
    };
    process.on('SIGINT', () => stop('SIGINT', 0));
    process.on('SIGTERM', () => stop('SIGTERM', 0));
    process.on('uncaughtException', (error) => {
      log.error('uncaught exception', { error: error.stack ?? String(error) });
      stop('uncaught exception', 1);
    });
    process.on('unhandledRejection', (reason) => {
      log.error('unhandled rejection', { error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason) });
      stop('unhandled rejection', 1);
    });
  });
  try {
    await collector.start();
  } catch (error) {
    log.error('bpfcol could not start', { error: error instanceof Error ? error.message : String(error) });
    await collector.shutdown();
    return 1;
  }
  await done;
  return exitCode;
}
