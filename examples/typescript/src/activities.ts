// Settings of the workflow, read from the worker's environment.
export async function settings(): Promise<{ hookbridgeTaskQueue: string; model: string }> {
  return {
    // hookbridge's task queue, where its ready-made workflows run.
    hookbridgeTaskQueue: process.env.TEMPORAL_TASK_QUEUE ?? 'openai-webhooks',
    model: process.env.FOLLOW_UP_MODEL ?? 'gpt-4.1-mini',
  };
}
