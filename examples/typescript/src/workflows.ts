// The workflow hookbridge starts for response events (HOOKBRIDGE_ROUTES=
// response.*=HandleResponseEvent@ts-examples). It asks a follow-up question
// about the response through hookbridge's ready-made BackgroundResponse
// workflow, which creates the response and returns it once its webhook has
// come, and returns both.
import { executeChild, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities';

// The input of a routed workflow: the event workflow's result (EventResult in
// hookbridge's Go package workflows). Only the fields used here.
export interface EventResult {
  event_type: string;
  outcome: string; // "retrieved", "not_found", "rejected", ...
  project?: string;
  object_id?: string;
  status?: string;
  output_text?: string;
  metadata?: Record<string, string>;
}

// BackgroundResponse's input and result (hookbridge's result.go), in part.
interface BackgroundResponseInput {
  project?: string;
  model: string;
  input: string;
  metadata?: Record<string, string>;
}
interface BackgroundResponseResult {
  response_id: string;
  status: string;
  output_text?: string;
}

export interface FollowUp {
  response_id?: string;
  follow_up_response_id?: string;
  follow_up_status?: string;
  follow_up_output_text?: string;
  // Why there is no follow-up.
  skipped?: string;
}

// followUpOf marks the follow-ups: their own response.completed event is
// routed here too, and following them up would never end.
const followUpOf = 'follow_up_of';

// The settings come from the worker's environment through a local activity,
// whose result the history records: workflow code cannot read the
// environment, and replays must see what the first run saw.
const { settings } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function HandleResponseEvent(event: EventResult): Promise<FollowUp> {
  const summary: FollowUp = { response_id: event.object_id };
  if (event.outcome !== 'retrieved' || event.status !== 'completed') {
    return { ...summary, skipped: `the response is ${event.status ?? event.outcome}` };
  }
  if (event.metadata?.[followUpOf]) {
    return { ...summary, skipped: `it is a follow-up of ${event.metadata[followUpOf]}` };
  }
  const { hookbridgeTaskQueue, model } = await settings();
  const input: BackgroundResponseInput = {
    project: event.project,
    model,
    input: `Name the next step after this answer: ${event.output_text}`,
    metadata: { [followUpOf]: event.object_id ?? '' },
  };
  const followUp = await executeChild<(input: BackgroundResponseInput) => Promise<BackgroundResponseResult>>(
    'hookbridge.BackgroundResponse',
    {
      taskQueue: hookbridgeTaskQueue,
      // Derived from this workflow's own ID, so that a retry cannot ask twice.
      workflowId: `${workflowInfo().workflowId}/follow-up`,
      args: [input],
    },
  );
  return {
    ...summary,
    follow_up_response_id: followUp.response_id,
    follow_up_status: followUp.status,
    follow_up_output_text: followUp.output_text,
  };
}
