//! The queue runner: every few seconds, and whenever a request queues
//! messages, it takes the due ones, checks the rules again at that moment
//! (an opt-out may have arrived while a message waited for morning), hands
//! each to the provider outside any transaction and records what came back.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warmlead_sms::{compose, decide, Decision, SendRequest};

use super::SmsService;
use crate::error::ServerError;
use crate::storage::sms_store::Due;

/// Due messages taken per pass.
const BATCH: u32 = 50;

/// The running runner; [`RunnerHandle::stop`] ends it between messages.
pub(crate) struct RunnerHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunnerHandle {
    /// Lets the message in flight finish, then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

pub(super) fn spawn(svc: SmsService) -> RunnerHandle {
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(run(svc, stopped));
    RunnerHandle { stop, task }
}

/// A claimed message still unanswered after this was cut off mid-send (a
/// crash, kill -9): far longer than any provider call may take, so a claim
/// another live process holds is never taken for an interrupted one.
const INTERRUPTED_AFTER_MS: i64 = 10 * 60 * 1000;

/// Marks failed what a stopped process claimed and never finished (not
/// resent: the phone may already have it).
async fn fail_interrupted(svc: &SmsService) {
    let now = svc.now();
    match svc
        .db()
        .transaction(move |s| s.sms().fail_interrupted(now - INTERRUPTED_AFTER_MS, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(n, "SMS interrupted mid-send marked failed"),
        Err(e) => tracing::error!(error = %e, "SMS runner could not check interrupted sends"),
    }
}

async fn run(svc: SmsService, mut stopped: oneshot::Receiver<()>) {
    loop {
        fail_interrupted(&svc).await;
        match run_once(&svc, &mut stopped).await {
            Ok(Pass::Stopped) => return,
            Ok(Pass::Done) => {}
            Err(e) => tracing::error!(error = %e, "SMS runner pass failed"),
        }
        tokio::select! {
            _ = &mut stopped => return,
            _ = svc.wake.notified() => {}
            _ = tokio::time::sleep(svc.options.runner_every) => {}
        }
    }
}

enum Pass {
    Done,
    Stopped,
}

/// Sends everything due now, checking for a stop between messages (a stop
/// never cuts a send between the provider's answer and its record).
async fn run_once(
    svc: &SmsService,
    stopped: &mut oneshot::Receiver<()>,
) -> Result<Pass, ServerError> {
    loop {
        let now = svc.now();
        let due = svc.db().snapshot(move |s| s.sms().due(now, BATCH)).await?;
        let n = due.len();
        for message in due {
            if !matches!(stopped.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                return Ok(Pass::Stopped);
            }
            process(svc, message).await?;
        }
        if n < BATCH as usize {
            return Ok(Pass::Done);
        }
    }
}

/// What the re-check decided, inside the claiming transaction. The claim
/// is a conditional UPDATE of the queued row: of two runners (two
/// processes on one PostgreSQL) the second waits for the first's commit,
/// finds the row claimed and skips it, so a message goes out once.
enum Step {
    Send,
    Done,
}

async fn process(svc: &SmsService, m: Due) -> Result<(), ServerError> {
    let request = SendRequest {
        kind: m.kind,
        to: warmlead_core::phone::Phone::parse(&m.phone)?,
        recipient_name: m.name.clone(),
        triggered_by_rep: Some(m.rep_id),
        // Stored composed: compose sees the opt-out line and does not add it twice.
        body: m.text.clone(),
        template_params: m.template_params.clone(),
    };
    let now = svc.now();
    let (rules, req, id) = (svc.rules().clone(), request.clone(), m.id);
    let step = svc
        .db()
        .transaction(move |s| {
            let since = rules.history_since(now);
            let queue = s.sms();
            let history = queue.history(req.to.as_e164(), Some(id), since)?;
            match decide(&req, &history, &rules, now) {
                Decision::Send => Ok(if queue.claim(id, now)? {
                    Step::Send
                } else {
                    Step::Done
                }),
                Decision::Queue { until_utc_ms } => {
                    queue.requeue(id, until_utc_ms, now)?;
                    Ok(Step::Done)
                }
                Decision::Refuse { reason } => {
                    queue.mark_failed(id, None, reason.message(), now)?;
                    Ok(Step::Done)
                }
            }
        })
        .await?;
    if let Step::Done = step {
        return Ok(());
    }
    let message = compose(&request, svc.rules());
    let result = svc.provider.send(&message).await;
    let now = svc.now();
    let provider = svc.provider.name();
    svc.db()
        .transaction(move |s| match result {
            Ok(receipt) => s.sms().mark_sent(id, &receipt, now).map(drop),
            Err(e) => {
                tracing::warn!(sms_id = id, provider, error = %e, "SMS not sent");
                s.sms()
                    .mark_failed(id, Some(provider), &e.to_string(), now)
                    .map(drop)
            }
        })
        .await
}
