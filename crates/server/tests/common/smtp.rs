//! A real SMTP server on a free loopback port (mailin-embedded: the SMTP state machine over
//! TCP), collecting what it receives so a test can read the code out of a delivered message.

use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::response::{self, Response};
use mailin_embedded::{Handler, Server, SslConfig};

#[derive(Debug, Clone)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body) as received.
    pub data: String,
}

impl Delivered {
    /// The first 6-digit number in the subject line.
    pub fn subject_code(&self) -> Option<String> {
        let subject = self
            .data
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("subject:"))?;
        six_digits(subject)
    }

    /// The first 6-digit number of the body.
    pub fn body_code(&self) -> Option<String> {
        let body = self.data.split("\r\n\r\n").nth(1)?;
        six_digits(body)
    }
}

fn six_digits(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let run = &b[i..i + 6];
        let bounded = (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit());
        (bounded && run.iter().all(u8::is_ascii_digit))
            .then(|| String::from_utf8_lossy(run).into_owned())
    })
}

type Inbox = Arc<(Mutex<Vec<Delivered>>, Condvar)>;

#[derive(Clone)]
struct Collector {
    inbox: Inbox,
    current: Option<Delivered>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Delivered {
            from: from.to_owned(),
            to: to.to_vec(),
            data: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(m) = &mut self.current {
            m.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(m) = self.current.take() {
            let (lock, ready) = &*self.inbox;
            lock.lock().unwrap().push(m);
            ready.notify_all();
        }
        response::OK
    }
}

pub struct MailCatcher {
    port: u16,
    inbox: Inbox,
}

impl MailCatcher {
    pub fn start() -> MailCatcher {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox: Inbox = Arc::default();
        let mut server = Server::new(Collector {
            inbox: inbox.clone(),
            current: None,
        });
        server
            .with_name("mail.portcullis.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        MailCatcher { port, inbox }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.inbox.0.lock().unwrap().len()
    }

    /// Waits for the `n`-th message (1-based) to arrive.
    pub fn nth(&self, n: usize) -> Delivered {
        let (lock, ready) = &*self.inbox;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut inbox = lock.lock().unwrap();
        while inbox.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "message {n} did not arrive within 10 s");
            inbox = ready.wait_timeout(inbox, left).unwrap().0;
        }
        inbox[n - 1].clone()
    }

    /// The code in the newest message to `to`, checking subject and body agree.
    pub fn last_code_to(&self, to: &str) -> String {
        let n = self.count();
        let m = self.nth(n.max(1));
        assert!(
            m.to.iter().any(|t| t.contains(to)),
            "last mail went to {:?}, not {to}",
            m.to
        );
        let code = m.subject_code().expect("a code in the subject");
        assert_eq!(m.body_code().as_deref(), Some(code.as_str()), "{}", m.data);
        code
    }
}
