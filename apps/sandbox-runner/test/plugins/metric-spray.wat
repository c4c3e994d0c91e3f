;; Reports a run of distinct metric names ("m00000", "m00001", ...) through the metric hook, for the
;; cardinality test. Input: start index and count, each a little-endian i32.
(module
  (import "forgeone" "metric" (func $metric (param i32 i32 f64)))
  (memory (export "memory") 1 2)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "spray") (param $p i32) (param $l i32) (result i64) (local $i i32) (local $end i32) (local $n i32) (local $d i32)
    (local.set $i (i32.load (local.get $p)))
    (local.set $end (i32.add (local.get $i) (i32.load offset=4 (local.get $p))))
    (i32.store8 (i32.const 16) (i32.const 109))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        ;; five decimal digits at 17..21, written from the right
        (local.set $n (local.get $i))
        (local.set $d (i32.const 21))
        (block $digits
          (loop $digit
            (i32.store8 (local.get $d) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
            (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
            (br_if $digits (i32.eq (local.get $d) (i32.const 17)))
            (local.set $d (i32.sub (local.get $d) (i32.const 1)))
            (br $digit)))
        (call $metric (i32.const 16) (i32.const 6) (f64.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.const 0))
)
