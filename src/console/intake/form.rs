//! The intake form's state: what the agent typed and chose, field by field,
//! and what the workers answered (citizen matches, near duplicates, the
//! catalogue). Only data and pure operations here; keys are in `keys.rs`.

use ratatui_textarea::TextArea;
use time::{Date, Month, UtcOffset};

use crate::app::intake::{CitizenChoice, Intake, NewCitizen, Procedure};
use crate::console::state::{PickItem, PickPurpose, PickValue, Picker, Screen};
use crate::console::update::filter_picker;
use crate::domain::{Citizen, Timestamp};

/// Rows of matches a dropdown shows under its field.
pub const DROPDOWN_ROWS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The search among known citizens (and the "new citizen" choice).
    Citizen,
    FirstName,
    LastName,
    Email,
    Phone,
    Street,
    Zip,
    City,
    /// The near-identical known citizens, to pick one instead.
    Duplicates,
    Procedure,
    Summary,
    Description,
    Channel,
    Priority,
    Due,
    Assign,
}

impl Field {
    /// The new citizen's fields, in order, with their index in `Form::new_citizen`.
    pub const CITIZEN: [Field; 7] = [
        Field::FirstName,
        Field::LastName,
        Field::Email,
        Field::Phone,
        Field::Street,
        Field::Zip,
        Field::City,
    ];

    pub fn label_key(self) -> &'static str {
        match self {
            Field::Citizen => "ui.intake_citizen",
            Field::FirstName => "ui.intake_first_name",
            Field::LastName => "ui.intake_last_name",
            Field::Email => "ui.intake_email",
            Field::Phone => "ui.intake_phone",
            Field::Street => "ui.intake_street",
            Field::Zip => "ui.intake_zip",
            Field::City => "ui.intake_city",
            Field::Duplicates => "ui.intake_duplicates",
            Field::Procedure => "ui.intake_procedure",
            Field::Summary => "ui.intake_summary",
            Field::Description => "ui.intake_description",
            Field::Channel => "ui.intake_channel",
            Field::Priority => "ui.intake_priority",
            Field::Due => "ui.intake_due",
            Field::Assign => "ui.intake_assign",
        }
    }

    fn citizen_index(self) -> Option<usize> {
        Field::CITIZEN.iter().position(|f| *f == self)
    }
}

/// One line of text being typed, with a cursor (in characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
    pub cursor: usize,
}

impl LineInput {
    pub fn new(text: &str) -> LineInput {
        LineInput {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn byte(&self, at: usize) -> usize {
        self.text
            .char_indices()
            .nth(at)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub fn insert(&mut self, text: &str) {
        // One line: a pasted line break becomes a space.
        let text = text.replace(['\n', '\r', '\t'], " ");
        let at = self.byte(self.cursor);
        self.text.insert_str(at, &text);
        self.cursor += text.chars().count();
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// Whom the case is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    Nobody,
    Known(Citizen),
    New,
}

pub struct Form {
    /// The screen to go back to when the form is left.
    pub back_to: Screen,
    pub focus: Field,
    /// The citizen search as typed.
    pub query: LineInput,
    /// Known citizens matching the search, best first (from the query thread).
    pub matches: Vec<Citizen>,
    /// In the dropdown; `matches.len()` is the "new citizen" line.
    pub match_selected: usize,
    /// The newest search asked; older answers are dropped.
    pub search_generation: u64,
    /// An answer to the newest search has come.
    pub searched: bool,
    pub chosen: Chosen,
    /// The new citizen's fields, in the order of [`Field::CITIZEN`].
    pub new_citizen: [LineInput; 7],
    /// Known citizens nearly identical to the new one.
    pub duplicates: Vec<Citizen>,
    pub duplicate_selected: usize,
    pub duplicate_generation: u64,
    /// The catalogue has come (procedures and channels).
    pub loaded: bool,
    pub load_error: Option<String>,
    pub procedures: Vec<Procedure>,
    /// The fuzzy picker over the catalogue; its filter is what is typed.
    pub procedure_picker: Picker,
    pub procedure: Option<Procedure>,
    pub summary: LineInput,
    pub description: TextArea<'static>,
    /// (value, label), walk-in first.
    pub channels: Vec<(String, String)>,
    pub channel: String,
    pub priority: u8,
    /// YYYY-MM-DD as typed.
    pub due: LineInput,
    /// The due date the procedure's legal deadline gave, and its text.
    pub due_proposed: Option<(Timestamp, String)>,
    /// Me or a group's queue (the picker's filter is what is typed).
    pub assign_picker: Picker,
    pub assign: PickValue,
    /// What stops the case being queued, one sentence each.
    pub errors: Vec<String>,
    /// Esc was pressed with something typed: the next Esc discards it.
    pub confirm_discard: bool,
    /// Handed to the write thread: the form stays until it is queued.
    pub sending: bool,
}

impl std::fmt::Debug for Form {
    // Never the citizen's data, even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("focus", &self.focus)
            .field("sending", &self.sending)
            .finish()
    }
}

fn picker(items: Vec<PickItem>) -> Picker {
    let mut picker = Picker {
        title: String::new(),
        items,
        filter: String::new(),
        shown: Vec::new(),
        selected: 0,
        purpose: PickPurpose::Form,
    };
    filter_picker(&mut picker);
    picker
}

/// The value a picker shows under its cursor.
pub fn picker_choice(picker: &Picker) -> Option<&PickItem> {
    picker
        .shown
        .get(picker.selected)
        .and_then(|i| picker.items.get(*i))
}

impl Form {
    /// An empty form: walk-in, priority 3 (moderate), assigned to me.
    /// `assign_items`: me first, then the groups.
    pub fn new(back_to: Screen, assign_items: Vec<PickItem>, me: Option<String>) -> Form {
        let mut description = TextArea::default();
        description.set_wrap_mode(ratatui_textarea::WrapMode::Word);
        description.set_cursor_line_style(ratatui::style::Style::default());
        Form {
            back_to,
            focus: Field::Citizen,
            query: LineInput::default(),
            matches: Vec::new(),
            match_selected: 0,
            search_generation: 0,
            searched: false,
            chosen: Chosen::Nobody,
            new_citizen: Default::default(),
            duplicates: Vec::new(),
            duplicate_selected: 0,
            duplicate_generation: 0,
            loaded: false,
            load_error: None,
            procedures: Vec::new(),
            procedure_picker: picker(Vec::new()),
            procedure: None,
            summary: LineInput::default(),
            description,
            channels: Vec::new(),
            channel: crate::app::intake::default_channel().to_string(),
            priority: 3,
            due: LineInput::default(),
            due_proposed: None,
            assign_picker: picker(assign_items),
            assign: PickValue::User(me.unwrap_or_default()),
            errors: Vec::new(),
            confirm_discard: false,
            sending: false,
        }
    }

    /// The catalogue came: the procedure picker offers it.
    pub fn set_catalogue(&mut self, procedures: Vec<Procedure>, channels: Vec<(String, String)>) {
        self.procedure_picker.items = procedures
            .iter()
            .map(|p| PickItem {
                label: p.label.clone(),
                detail: p.code.clone(),
                value: PickValue::Text(p.code.clone()),
            })
            .collect();
        filter_picker(&mut self.procedure_picker);
        self.procedures = procedures;
        if !channels.is_empty() && !channels.iter().any(|(v, _)| *v == self.channel) {
            self.channel = channels[0].0.clone();
        }
        self.channels = channels;
        self.loaded = true;
    }

    /// The fields in order; the new citizen's only when one is recorded.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = vec![Field::Citizen];
        if self.chosen == Chosen::New {
            out.extend(Field::CITIZEN);
            if !self.duplicates.is_empty() {
                out.push(Field::Duplicates);
            }
        }
        out.extend([
            Field::Procedure,
            Field::Summary,
            Field::Description,
            Field::Channel,
            Field::Priority,
            Field::Due,
            Field::Assign,
        ]);
        out
    }

    pub fn move_focus(&mut self, by: isize) {
        let fields = self.fields();
        let at = fields.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let next = (at + by).clamp(0, fields.len() as isize - 1) as usize;
        self.focus = fields[next];
    }

    /// The line input of a one-line text field.
    pub fn input_mut(&mut self, field: Field) -> Option<&mut LineInput> {
        match field {
            Field::Citizen => Some(&mut self.query),
            Field::Summary => Some(&mut self.summary),
            Field::Due => Some(&mut self.due),
            f => f.citizen_index().map(|i| &mut self.new_citizen[i]),
        }
    }

    pub fn input(&self, field: Field) -> Option<&LineInput> {
        match field {
            Field::Citizen => Some(&self.query),
            Field::Summary => Some(&self.summary),
            Field::Due => Some(&self.due),
            f => f.citizen_index().map(|i| &self.new_citizen[i]),
        }
    }

    pub fn new_citizen(&self) -> NewCitizen {
        let [first, last, email, phone, street, zip, city] =
            self.new_citizen.clone().map(|i| i.text.trim().to_string());
        NewCitizen {
            first_name: first,
            last_name: last,
            email,
            phone,
            street,
            city,
            zip,
        }
    }

    /// Worth asking for near duplicates: a name, an e-mail or a phone.
    pub fn new_citizen_identifies(&self) -> bool {
        let c = self.new_citizen();
        !(c.last_name.is_empty() && c.email.is_empty() && c.phone.is_empty())
    }

    /// Records a new citizen; the fields still empty take what the search
    /// held (an e-mail, a phone number, or first and last names).
    pub fn choose_new(&mut self) {
        self.chosen = Chosen::New;
        if self.new_citizen.iter().all(LineInput::is_blank) {
            let query = self.query.text.trim().to_string();
            let digits = query.chars().filter(char::is_ascii_digit).count();
            if query.contains('@') {
                self.new_citizen[2] = LineInput::new(&query);
            } else if digits >= 6 {
                self.new_citizen[3] = LineInput::new(&query);
            } else if let Some((first, last)) = query.split_once(' ') {
                self.new_citizen[0] = LineInput::new(first.trim());
                self.new_citizen[1] = LineInput::new(last.trim());
            } else if !query.is_empty() {
                self.new_citizen[1] = LineInput::new(&query);
            }
        }
        self.focus = Field::FirstName;
    }

    /// A known citizen instead (from the search or the near duplicates).
    pub fn choose_known(&mut self, citizen: Citizen) {
        self.chosen = Chosen::Known(citizen);
        self.duplicates.clear();
        self.focus = Field::Procedure;
    }

    /// A procedure picked: its legal deadline proposes the due date,
    /// unless the agent typed one of their own.
    pub fn choose_procedure(&mut self, code: &str, now: Timestamp, offset: UtcOffset) {
        let Some(procedure) = self.procedures.iter().find(|p| p.code == code).cloned() else {
            return;
        };
        let own_date = !self.due.is_blank()
            && self.due_proposed.as_ref().map(|(_, t)| t) != Some(&self.due.text);
        self.due_proposed =
            crate::app::intake::proposed_due(&procedure, now).map(|at| (at, day_text(at, offset)));
        if !own_date {
            self.due = LineInput::new(self.due_proposed.as_ref().map_or("", |(_, t)| t));
        }
        self.procedure = Some(procedure);
        self.procedure_picker.filter.clear();
        filter_picker(&mut self.procedure_picker);
    }

    /// Something typed or chosen that Esc would lose.
    pub fn has_work(&self) -> bool {
        !self.query.is_blank()
            || self.chosen != Chosen::Nobody
            || self.new_citizen.iter().any(|i| !i.is_blank())
            || self.procedure.is_some()
            || !self.summary.is_blank()
            || self
                .description
                .lines()
                .iter()
                .any(|l| !l.trim().is_empty())
    }

    /// The intake as the app takes it, or what the form itself can say is
    /// wrong (no citizen, an unreadable date): i18n keys.
    pub fn intake(&self, offset: UtcOffset) -> Result<Intake, Vec<&'static str>> {
        let mut wrong = Vec::new();
        let citizen = match &self.chosen {
            Chosen::Known(c) => Some(CitizenChoice::Known(c.id.clone())),
            Chosen::New => Some(CitizenChoice::New(self.new_citizen())),
            Chosen::Nobody => {
                wrong.push("ui.intake_no_citizen");
                None
            }
        };
        let due = match parse_day(&self.due.text, offset) {
            Ok(due) => {
                // The proposed date as proposed (to the second), not
                // rounded to the day typed.
                match &self.due_proposed {
                    Some((at, text)) if *text == self.due.text.trim() => Some(*at),
                    _ => due,
                }
            }
            Err(BadDate) => {
                wrong.push("ui.intake_bad_date");
                None
            }
        };
        let (assign_to_me, group) = match &self.assign {
            PickValue::Group(id) => (false, Some(id.clone())),
            _ => (true, None),
        };
        match citizen {
            Some(citizen) if wrong.is_empty() => Ok(Intake {
                citizen,
                procedure: self
                    .procedure
                    .as_ref()
                    .map(|p| p.code.clone())
                    .unwrap_or_default(),
                summary: self.summary.text.trim().to_string(),
                description: self.description.lines().join("\n").trim_end().to_string(),
                channel: self.channel.clone(),
                priority: self.priority,
                due,
                group,
                assign_to_me,
            }),
            _ => Err(wrong),
        }
    }
}

/// A due date the form cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadDate;

/// A day as the form shows it, in the agent's time zone.
pub fn day_text(at: Timestamp, offset: UtcOffset) -> String {
    let t = at.instant();
    let t = t.checked_to_offset(offset).unwrap_or(t);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `YYYY-MM-DD` (blank: no due date) as the end of that day in the
/// agent's time zone: a case due "on the 28th" is not late on the 28th.
pub fn parse_day(text: &str, offset: UtcOffset) -> Result<Option<Timestamp>, BadDate> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadDate);
    };
    let year: i32 = y.parse().map_err(|_| BadDate)?;
    let month: u8 = m.parse().map_err(|_| BadDate)?;
    let day: u8 = d.parse().map_err(|_| BadDate)?;
    if y.len() != 4 {
        return Err(BadDate);
    }
    let month = Month::try_from(month).map_err(|_| BadDate)?;
    let date = Date::from_calendar_date(year, month, day).map_err(|_| BadDate)?;
    let end = date
        .with_hms(23, 59, 59)
        .map_err(|_| BadDate)?
        .assume_offset(offset);
    Ok(Some(Timestamp::from(end)))
}
