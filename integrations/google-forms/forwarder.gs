/**
 * contact-relay forwarder for Google Forms (Apps Script, V8 runtime).
 *
 * Google Forms has no webhooks: this script runs on every submission and
 * posts it to contact-relay, signed with the route's secret.
 *
 * Install (once per form):
 *  1. Open the form in edit mode → ⋮ (More) → Apps Script. (In Sheets and
 *     Docs the same editor is under Extensions → Apps Script.)
 *  2. Replace the contents of Code.gs with this file and save.
 *  3. Project Settings (gear icon) → Script properties → add
 *       CONTACT_RELAY_URL    = https://<api-id>.execute-api.<region>.amazonaws.com/hooks/google-forms/<route>
 *       CONTACT_RELAY_SECRET = the "secret" of that route's source secret
 *                              (contact-relay/<stage>/source/google-forms, or the route's secretName)
 *  4. Triggers (clock icon) → Add Trigger → function "onFormSubmit",
 *     event source "From form", event type "On form submit" → Save, and
 *     allow the permissions Google asks for (to read responses and to
 *     connect to an external service). Or run installTrigger once from
 *     the editor, which creates the same trigger.
 *  5. Submit the form once and check Executions: a 200 (accepted,
 *     duplicate, skipped) is logged; anything else fails the execution,
 *     and Google emails the trigger's owner about failed executions.
 *
 * What is sent (POST, application/json):
 *   {"formId", "responseId", "submittedAt", "respondentEmail"?, "answers": {"<question title>": "text" | ["a", "b"]}}
 * with the header  X-Contact-Relay-Signature: sha256=<base64 HMAC-SHA256 of the exact body>.
 * Keep question titles such as "Name", "Email", "Phone number" and "Country"
 * to have them found automatically, or name the titles in the route's "fields".
 */

/** Attempts per submission: Google retries nothing on our behalf. */
var CONTACT_RELAY_ATTEMPTS = 3;

/** The installable trigger's handler: forwards one form response. */
function onFormSubmit(e) {
  var properties = PropertiesService.getScriptProperties();
  var url = properties.getProperty('CONTACT_RELAY_URL');
  var secret = properties.getProperty('CONTACT_RELAY_SECRET');
  if (!url || !secret) {
    throw new Error('contact-relay: set the script properties CONTACT_RELAY_URL and CONTACT_RELAY_SECRET (Project Settings → Script properties)');
  }
  var body = contactRelayBody_(e);
  // The signature covers the exact text posted; the body is ASCII (see asciiJson_), so the bytes signed are the bytes sent.
  var signature = Utilities.base64Encode(Utilities.computeHmacSha256Signature(body, secret, Utilities.Charset.UTF_8));
  var options = {
    method: 'post',
    contentType: 'application/json',
    payload: body,
    headers: { 'X-Contact-Relay-Signature': 'sha256=' + signature },
    // Read the answer ourselves: a 4xx is reported with its message, a 5xx is retried.
    muteHttpExceptions: true,
    followRedirects: false,
  };
  for (var attempt = 1; ; attempt++) {
    var status = 0;
    var text = '';
    try {
      var response = UrlFetchApp.fetch(url, options);
      status = response.getResponseCode();
      text = response.getContentText();
    } catch (error) {
      text = String(error);
    }
    if (status >= 200 && status < 300) {
      console.log('contact-relay answered ' + status + ': ' + text);
      return;
    }
    // Network errors, 429 and 5xx may pass; the same response id makes a repeat harmless (it is deduplicated).
    var transient = status === 0 || status === 429 || status >= 500;
    if (!transient || attempt >= CONTACT_RELAY_ATTEMPTS) {
      throw new Error('contact-relay did not accept response ' + e.response.getId() + ' (' + (status || 'no answer') + '): ' + text);
    }
    Utilities.sleep(2000 * attempt);
  }
}

/** Creates the "On form submit" trigger for onFormSubmit; run it once from the editor instead of step 4. */
function installTrigger() {
  var form = FormApp.getActiveForm();
  var existing = ScriptApp.getProjectTriggers().filter(function (trigger) {
    return trigger.getHandlerFunction() === 'onFormSubmit';
  });
  if (existing.length > 0) return;
  ScriptApp.newTrigger('onFormSubmit').forForm(form).onFormSubmit().create();
}

/** The JSON text posted for one submission. */
function contactRelayBody_(e) {
  var response = e.response;
  var form = e.source || FormApp.getActiveForm();
  var answers = {};
  var items = response.getItemResponses();
  for (var i = 0; i < items.length; i++) {
    var title = String(items[i].getItem().getTitle() || '').trim() || 'Question ' + (i + 1);
    // Two questions may share a title; the second keeps its answer under "Title (2)".
    var key = title;
    for (var n = 2; Object.prototype.hasOwnProperty.call(answers, key); n++) key = title + ' (' + n + ')';
    answers[key] = contactRelayAnswer_(items[i].getResponse());
  }
  var payload = {
    formId: form.getId(),
    responseId: response.getId(),
    submittedAt: response.getTimestamp().toISOString(),
    answers: answers,
  };
  var email = response.getRespondentEmail();
  if (email) payload.respondentEmail = email;
  return asciiJson_(payload);
}

/** Text stays text; checkboxes give a list; a grid's rows (lists themselves for checkbox grids) become one string each. */
function contactRelayAnswer_(value) {
  if (Array.isArray(value)) {
    return value.map(function (item) {
      return Array.isArray(item) ? item.join(', ') : item === null || item === undefined ? '' : String(item);
    });
  }
  return value === null || value === undefined ? '' : String(value);
}

/**
 * JSON with every non-ASCII character written as \uXXXX. The text is then
 * plain ASCII, identical in every charset, so the bytes the HMAC covers are
 * the bytes UrlFetchApp sends whatever encoding it picks for the payload.
 */
function asciiJson_(value) {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, function (c) {
    return '\\u' + ('0000' + c.charCodeAt(0).toString(16)).slice(-4);
  });
}
