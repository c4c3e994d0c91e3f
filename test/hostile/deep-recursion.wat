;; Unbounded recursion without any loop: stopped at function entry by fuel, or by the stack.
(module
  (memory (export "memory") 1 4)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func $dive (param $depth i64) (result i64)
    (i64.add (call $dive (i64.add (local.get $depth) (i64.const 1))) (i64.const 1)))
  (func (export "run") (param i32 i32) (result i64)
    (call $dive (i64.const 0)))
)
