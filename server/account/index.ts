/**
 * The account-security services, created once per slsd from its services.
 *
 * Kept apart from `createServices` so the two grow independently; `accountServices(s)` returns the
 * same instances for the same `Services`.
 */
import type { Services } from '../services/index.ts';
import { DeviceAdminService } from '../services/devices-admin.ts';
import { OptOutService } from '../services/optout.ts';
import { PhoneService } from '../services/phone.ts';
import { RestartService } from '../services/restart.ts';
import { SharingService } from '../services/sharing.ts';
import { TemporaryAccessService } from '../services/temporary-access.ts';
import { WithdrawalService } from '../services/withdrawals.ts';
import { accountDeps } from './deps.ts';
import type { AccountDeps } from './deps.ts';

export interface AccountServices {
  readonly deps: AccountDeps;
  readonly withdrawals: WithdrawalService;
  readonly devices: DeviceAdminService;
  readonly phone: PhoneService;
  readonly optOut: OptOutService;
  readonly sharing: SharingService;
  readonly temporaryAccess: TemporaryAccessService;
  readonly restart: RestartService;
}

const cache = new WeakMap<Services, AccountServices>();

export function accountServices(services: Services): AccountServices {
  let a = cache.get(services);
  if (!a) {
    const deps = accountDeps(services);
    a = {
      deps,
      withdrawals: new WithdrawalService(deps),
      devices: new DeviceAdminService(deps),
      phone: new PhoneService(deps),
      optOut: new OptOutService(deps),
      sharing: new SharingService(deps),
      temporaryAccess: new TemporaryAccessService(deps),
      restart: new RestartService(deps),
    };
    cache.set(services, a);
  }
  return a;
}

export { accountHousekeeping, accountRestrictions } from './restrictions.ts';
