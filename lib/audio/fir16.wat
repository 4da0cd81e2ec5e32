;; The 16-tap polyphase FIR of the VAD's 'analysis' resampler (24 -> 16 kHz), in WebAssembly SIMD.
;; Same arithmetic as the unrolled loop in resample.ts, in the same order (lane 0 of $v is the JS
;; accumulator a0, lane 1 is a1, $w holds a2 and a3; no fused multiply-add), so the output is
;; bit-identical. Compiled by lib/audio/build-fir16.ts into fir16-wasm.ts; a test checks they agree.
;;
;; fir16(h, c, out, count, phase, stepWhole, stepFrac, up, scale): for n in [0, count): the taps of
;; phase `phase` (16 f64 at c + phase * 128) times 16 f64 history samples from h, summed, times
;; scale, stored as f32 at out + 4n; then h advances by stepWhole samples (plus one when the phase
;; wraps past up).
(module
  (memory (export "memory") 1)
  (func (export "fir16")
    (param $h i32) (param $c i32) (param $out i32) (param $count i32) (param $phase i32)
    (param $stepWhole i32) (param $stepFrac i32) (param $up i32) (param $scale f64)
    (local $n i32) (local $b i32) (local $v v128) (local $w v128) (local $step i32)
    (local.set $step (i32.shl (local.get $stepWhole) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $n) (local.get $count)))
        (local.set $b (i32.add (local.get $c) (i32.shl (local.get $phase) (i32.const 7))))
        (local.set $v (f64x2.mul (v128.load (local.get $b)) (v128.load (local.get $h))))
        (local.set $v (f64x2.add (local.get $v) (f64x2.mul (v128.load offset=32 (local.get $b)) (v128.load offset=32 (local.get $h)))))
        (local.set $v (f64x2.add (local.get $v) (f64x2.mul (v128.load offset=64 (local.get $b)) (v128.load offset=64 (local.get $h)))))
        (local.set $v (f64x2.add (local.get $v) (f64x2.mul (v128.load offset=96 (local.get $b)) (v128.load offset=96 (local.get $h)))))
        (local.set $w (f64x2.mul (v128.load offset=16 (local.get $b)) (v128.load offset=16 (local.get $h))))
        (local.set $w (f64x2.add (local.get $w) (f64x2.mul (v128.load offset=48 (local.get $b)) (v128.load offset=48 (local.get $h)))))
        (local.set $w (f64x2.add (local.get $w) (f64x2.mul (v128.load offset=80 (local.get $b)) (v128.load offset=80 (local.get $h)))))
        (local.set $w (f64x2.add (local.get $w) (f64x2.mul (v128.load offset=112 (local.get $b)) (v128.load offset=112 (local.get $h)))))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2)))
          (f32.demote_f64
            (f64.mul
              (f64.add
                (f64.add (f64x2.extract_lane 0 (local.get $v)) (f64x2.extract_lane 1 (local.get $v)))
                (f64.add (f64x2.extract_lane 0 (local.get $w)) (f64x2.extract_lane 1 (local.get $w))))
              (local.get $scale))))
        (local.set $h (i32.add (local.get $h) (local.get $step)))
        (local.set $phase (i32.add (local.get $phase) (local.get $stepFrac)))
        (if (i32.ge_u (local.get $phase) (local.get $up))
          (then
            (local.set $phase (i32.sub (local.get $phase) (local.get $up)))
            (local.set $h (i32.add (local.get $h) (i32.const 8)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next))))
)
