import { API, type RouteInput, type RouteReply } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { PolicyCommandSender } from '../policy-commands.sender.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/settings/call-recording: per-call or window recording of the tenant's calls, one policy command
// (policy checks `configure-recording` on the tenant and records the change with who, before and after).
@Controller()
export class SettingsController {
  constructor(private readonly commands: PolicyCommandSender) {}

  @ContractRoute(API.setCallRecording)
  setCallRecording(@RouteRequest() { body, credential }: RouteInput<typeof API.setCallRecording>): Promise<RouteReply<typeof API.setCallRecording>> {
    return this.commands.send('callRecordingSet', body, credential);
  }
}
