/**
 * Route mode `pin_then_otp`: the static PIN first, then a one-time code, for departments that
 * want proof of what the caller knows and of what they hold. Either failing fails the call with
 * its own reason; PINVERIFY_METHOD says both (`pin+sms`, `pin+email`).
 */
import type { ModeFlow } from './call-flow';

export function createPinThenOtpFlow(pin: ModeFlow, otp: ModeFlow): ModeFlow {
  return {
    async verify(ctx) {
      const first = await pin.verify(ctx);
      if (first.result !== 'verified') return first;
      ctx.step = 'pin_accepted';
      await ctx.play(['pin-accepted'], 'playing the PIN accepted prompt');
      return otp.verify(ctx);
    },
  };
}
