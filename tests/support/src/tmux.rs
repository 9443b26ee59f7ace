//! The console as an agent sees it: the real binary in a tmux pane of a
//! given size, keys sent, the screen read back. Killed when dropped.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Console {
    pub session: String,
}

pub fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux").args(args).output().expect(
        "tmux is needed for the console's end-to-end tests and benchmarks (apt-get install tmux)",
    )
}

impl Console {
    /// `guichet ARGS` with GUICHET_HOME=`home`, GUICHET_PROFILE=`profile`,
    /// the extra environment `env`, in a `width`x`height` pane.
    pub fn start(
        home: &Path,
        profile: &str,
        size: (u16, u16),
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Console {
        Console::start_on(home, Some(profile), size, env, args)
    }

    /// The same with no profile chosen (the console opens the inbox of
    /// every profile of the workstation).
    pub fn start_inbox(
        home: &Path,
        size: (u16, u16),
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Console {
        Console::start_on(home, None, size, env, args)
    }

    fn start_on(
        home: &Path,
        profile: Option<&str>,
        (width, height): (u16, u16),
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Console {
        let session = format!("guichet-{}", uuid::Uuid::new_v4().simple());
        let (w, h) = (width.to_string(), height.to_string());
        let mut command: Vec<String> = ["new-session", "-d", "-s", &session, "-x", &w, "-y", &h]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut vars = vec![format!("GUICHET_HOME={}", home.display())];
        vars.extend(profile.map(|p| format!("GUICHET_PROFILE={p}")));
        vars.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        for var in vars {
            command.push("-e".into());
            command.push(var);
        }
        command.push(crate::cli::bin().display().to_string());
        command.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = command.iter().map(String::as_str).collect();
        let out = tmux(&refs);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Console { session }
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(tmux(&args).status.success());
        // One key at a time is how a person types; give the loop a beat.
        std::thread::sleep(Duration::from_millis(80));
    }

    /// Types text as it is (no key names).
    pub fn type_text(&self, text: &str) {
        assert!(
            tmux(&["send-keys", "-t", &self.session, "-l", text])
                .status
                .success()
        );
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &self.session]).stdout)
            .into_owned()
    }

    /// Waits until the screen shows `needle`; returns the screen.
    #[track_caller]
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_until(needle, |screen| screen.contains(needle))
    }

    #[track_caller]
    pub fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the console never showed {what:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn alive(&self) -> bool {
        tmux(&["has-session", "-t", &self.session]).status.success()
    }

    /// Waits (up to `limit`) for the console to end.
    pub fn wait_gone(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        !self.alive()
    }

    /// The process id of the program in the pane.
    pub fn pid(&self) -> Option<u32> {
        let out = tmux(&["list-panes", "-t", &self.session, "-F", "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.session]);
    }
}
