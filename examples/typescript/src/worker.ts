// The worker of the example: it polls its own task queue, which the route
// names, and runs HandleResponseEvent.
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({
    address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
  });
  try {
    const worker = await Worker.create({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      taskQueue: process.env.EXAMPLE_TASK_QUEUE ?? 'ts-examples',
      // The SDK bundles the workflow code (webpack) when the worker starts.
      workflowsPath: require.resolve('./workflows'),
      activities,
    });
    // Runs until SIGINT or SIGTERM, then drains.
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
