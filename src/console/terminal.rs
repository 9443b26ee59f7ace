//! The terminal: raw mode and the alternate screen, restored on every exit
//! path (a guard's drop, and a panic hook before the panic message), and
//! frames sent as one write wrapped in synchronised-output sequences, so a
//! slow SSH link never shows half a frame.

use std::io::{self, Stdout, Write};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Collects a frame; `flush` (which ratatui calls at the end of a draw)
/// keeps it, and only `commit` sends it, in one write.
pub struct FrameWriter {
    buffer: Vec<u8>,
    out: Stdout,
}

impl Write for FrameWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FrameWriter {
    fn commit(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.out.write_all(&self.buffer)?;
        self.buffer.clear();
        self.out.flush()
    }
}

pub type Term = Terminal<CrosstermBackend<FrameWriter>>;

pub struct Tui {
    pub terminal: Term,
}

/// Puts the terminal back as the agent's shell expects it. Safe to call
/// more than once.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
}

impl Tui {
    pub fn start() -> io::Result<Tui> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        let mut out = io::stdout();
        // Pasted text arrives as one event, never as keys that would run
        // commands.
        execute!(
            out,
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        )?;
        let writer = FrameWriter {
            buffer: Vec::with_capacity(64 * 1024),
            out,
        };
        let mut terminal = Terminal::new(CrosstermBackend::new(writer))?;
        terminal.clear()?;
        terminal.backend_mut().writer_mut().commit()?;
        Ok(Tui { terminal })
    }

    /// Draws a frame and sends it in one write.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame<'_>)) -> io::Result<()> {
        queue!(
            self.terminal.backend_mut().writer_mut(),
            BeginSynchronizedUpdate
        )?;
        self.terminal.draw(render)?;
        let writer = self.terminal.backend_mut().writer_mut();
        queue!(writer, EndSynchronizedUpdate)?;
        writer.commit()
    }

    /// Leaves the screen to another program ($EDITOR), then takes it back.
    pub fn suspend<T>(&mut self, run: impl FnOnce() -> T) -> io::Result<T> {
        restore();
        let result = run();
        enable_raw_mode()?;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        )?;
        self.terminal.clear()?;
        self.terminal.backend_mut().writer_mut().commit()?;
        Ok(result)
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}
