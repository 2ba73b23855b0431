/**
 * What the window says when it could not connect to SLS Desktop at start (renderer/transport.ts).
 *
 * Apart from messages.ts, which the host's tests import under Node: this one knows the transport's
 * errors, and the transport is browser code.
 */
import type { ClientError, ErrorText } from '../core/contract/index.ts';
import { i18n } from './i18n/index.ts';
import { describeError } from './messages.ts';
import { HostOwnerUnknownError, NotOpenedByHostError } from './transport.ts';

/**
 * Opened without its launch code: it never had a connection. Refused because the browser host could
 * not check that this window is of the user running SLS Desktop (SPEC C3): a restart opens a new
 * window. Anything else: the error's own words ("The connection to SLS Desktop was lost").
 */
export function describeConnectError(e: unknown): ErrorText {
  const t = i18n.t;
  if (e instanceof NotOpenedByHostError) return { message: t('shell:notOpened.message'), action: t('shell:notOpened.action') };
  if (e instanceof HostOwnerUnknownError) return { message: t('shell:ownerUnknown.message'), action: t('shell:ownerUnknown.action') };
  const error: ClientError = e && typeof e === 'object' && 'error' in e ? (e as { error: ClientError }).error : { code: 'SLS_ERR_HOST_DISCONNECTED', message: '' };
  return describeError(error);
}
