//! A test's peak memory, measured in a fresh child process of the test binary: the child prints `name number` lines, the parent reads them.

/// Memory measured in a fresh process: the test `test` of the running
/// test binary, run alone with `var=value` set (which tells it that it is
/// the child). It prints what it measured as `name number` lines
/// ([`print_peak`]); this returns those numbers by name. A fresh process
/// because a process's peak resident memory only grows: nothing else may
/// have been run in it.
///
/// # Panics
///
/// When the child cannot run or prints no numbers (the test fails).
pub fn measure_in_child(test: &str, var: &str, value: &str) -> Vec<(String, u64)> {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(var, value)
        .output()
        .expect("the child test runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<(String, u64)> = stdout
        .lines()
        .filter_map(|l| {
            // The last two words: the test harness may have printed its
            // "test NAME ... " on the same line first.
            let mut words = l.split_whitespace().rev();
            let n = words.next()?.parse().ok()?;
            Some((words.next()?.to_owned(), n))
        })
        .collect();
    assert!(!numbers.is_empty(), "{test} printed no measure: {stdout}");
    numbers
}

/// The number `name` of what [`measure_in_child`] returned.
///
/// # Panics
///
/// When the child did not print it.
pub fn measured(numbers: &[(String, u64)], name: &str) -> u64 {
    numbers
        .iter()
        .find_map(|(n, v)| (n == name).then_some(*v))
        .unwrap_or_else(|| panic!("no {name} in {numbers:?}"))
}

/// In the child of [`measure_in_child`]: print this process's peak
/// resident memory in KiB (Linux's `VmHWM`) as `peak-kib N`.
///
/// # Panics
///
/// Where `/proc/self/status` has no `VmHWM` (not Linux).
pub fn print_peak() {
    // bounded: /proc/self/status is a few KiB the kernel writes.
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status"); // bounded
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("a VmHWM line");
    println!("peak-kib {}", peak.trim().trim_end_matches(" kB"));
}
