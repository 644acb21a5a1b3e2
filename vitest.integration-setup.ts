// Runs in every integration test worker: keep the Temporal Rust core quiet unless something is wrong, so a
// failing test's output is about the test.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
