;; A handler that never returns: stopped by fuel, or by the deadline when the fuel budget is huge.
(module
  (memory (export "memory") 1 4)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "forgeone_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "run") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0))
)
