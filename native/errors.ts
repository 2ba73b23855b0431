/**
 * Typed errors of the DSC+ driver.
 *
 * Every error carries a stable `code` the desktop client switches on (what to show, whether to
 * retry), never the message text. Transport errors are about the link; device errors are the
 * ERROR codes of protocols/dscplus-hid.md.
 */

export abstract class DscPlusError extends Error {
  abstract readonly code: string;
}

/** A second exchange was started while one is pending (ledgerjs: "an action was already pending"). */
export class TransportBusyError extends DscPlusError {
  readonly code = 'TRANSPORT_BUSY';
  constructor() {
    super('another exchange with the device is already pending');
    this.name = 'TransportBusyError';
  }
}

/** The device went away (unplugged, socket closed, native I/O error). */
export class DeviceDisconnectedError extends DscPlusError {
  readonly code = 'DEVICE_DISCONNECTED';
  constructor(message = 'the device was disconnected', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceDisconnectedError';
  }
}

/** The device sent nothing (not even a keep-alive) for the exchange's timeout. */
export class TransportTimeoutError extends DscPlusError {
  readonly code = 'TRANSPORT_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`the device did not answer within ${timeoutMs} ms`);
    this.name = 'TransportTimeoutError';
  }
}

/** The caller's AbortSignal fired. */
export class TransportAbortedError extends DscPlusError {
  readonly code = 'ABORTED';
  constructor(options?: { cause?: unknown }) {
    super('the exchange was aborted', options);
    this.name = 'TransportAbortedError';
  }
}

/** The device answered something the protocol does not allow here. */
export class ProtocolError extends DscPlusError {
  readonly code = 'PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** The host has no permission to open the HID device (Linux: missing udev rule, resources/linux/70-dscplus.rules). */
export class DeviceAccessDeniedError extends DscPlusError {
  readonly code = 'DEVICE_ACCESS_DENIED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceAccessDeniedError';
  }
}

/** No DSC+ with that serial is plugged in. */
export class DeviceNotFoundError extends DscPlusError {
  readonly code = 'DEVICE_NOT_FOUND';
  constructor(readonly serial: string) {
    super(`no DSC+ with serial ${serial} is connected`);
    this.name = 'DeviceNotFoundError';
  }
}

/** The HID library (node-hid / usb) is not available on this machine. */
export class HidUnavailableError extends DscPlusError {
  readonly code = 'HID_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HidUnavailableError';
  }
}
