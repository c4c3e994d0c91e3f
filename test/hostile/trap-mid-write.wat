;; Starts writing its output, then divides by zero halfway through.
(module
  (memory (export "memory") 1 4)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "run") (param $ptr i32) (param $len i32) (result i64) (local $out i32) (local $i i32)
    (local.set $out (call $alloc (i32.const 100)))
    (loop $write
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        ;; 1 / (50 - i) traps when i reaches 50
        (i32.div_u (i32.const 1) (i32.sub (i32.const 50) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $write (i32.lt_u (local.get $i) (i32.const 100))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32)) (i64.const 100)))
)
