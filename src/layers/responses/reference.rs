//! `item_reference` input items (`{"type": "item_reference", "id": "fc_…"}`): a client
//! (the Vercel AI SDK's `openai()` provider among them) names an output item of an earlier
//! stored response instead of sending it again. An output item's id names its response
//! (see [`item_id`](super::reply::item_id)), so each reference is read from the same store
//! `previous_response_id` reads, in the caller's namespace, and replaced by the item as an
//! input item. An id that no stored response of the caller holds is a 400 naming it.

use crate::error::Error;
use crate::openai::responses::{Input, InputItem, OutputItem};

use super::state::{Records, StoredResponse};

/// Most distinct stored responses one request's references may read.
const MAX_REFERENCED_RESPONSES: usize = 32;

/// Replaces every `item_reference` of `input` by the output item it names.
pub(super) async fn resolve(records: &Records, input: &mut Option<Input>) -> Result<(), Error> {
    let Some(Input::Items(items)) = input else {
        return Ok(());
    };
    if !items.iter().any(is_reference) {
        return Ok(());
    }
    let mut loaded: Vec<(String, Option<StoredResponse>)> = Vec::new();
    for (index, item) in items.iter_mut().enumerate() {
        if !is_reference(item) {
            continue;
        }
        let id = item.id.clone().unwrap_or_default();
        let unknown = || not_stored(index, &id);
        let response_id = response_of(&id).ok_or_else(unknown)?;
        let position = match loaded.iter().position(|(known, _)| *known == response_id) {
            Some(position) => position,
            None => {
                if loaded.len() == MAX_REFERENCED_RESPONSES {
                    return Err(Error::invalid_param(
                        "input",
                        format!(
                            "item_reference items name more than {MAX_REFERENCED_RESPONSES} \
                             responses; send the items themselves or use previous_response_id"
                        ),
                    ));
                }
                let record = records.load(&response_id).await;
                loaded.push((response_id, record));
                loaded.len() - 1
            }
        };
        let output = loaded[position]
            .1
            .as_ref()
            .and_then(|record| {
                record
                    .response
                    .output
                    .iter()
                    .find(|output| output.id() == id)
            })
            .ok_or_else(unknown)?;
        *item = as_input(output).ok_or_else(unknown)?;
    }
    Ok(())
}

fn is_reference(item: &InputItem) -> bool {
    item.kind() == "item_reference"
}

/// The response id an output item id (`{msg,fc,rs}_{hex}_{index}`) names.
fn response_of(item_id: &str) -> Option<String> {
    let (prefix, rest) = item_id.split_once('_')?;
    let (hex, index) = rest.rsplit_once('_')?;
    let known = matches!(prefix, "msg" | "fc" | "rs");
    (known && index.parse::<usize>().is_ok()).then(|| format!("resp_{hex}"))
}

/// An output item as the input item a client would have sent back.
fn as_input(output: &OutputItem) -> Option<InputItem> {
    serde_json::to_value(output)
        .ok()
        .and_then(|value| serde_json::from_value(value).ok())
}

fn not_stored(index: usize, id: &str) -> Error {
    Error::invalid_param(
        format!("input[{index}].id"),
        format!(
            "item_reference {id:?}: no stored response of this key has an output item with \
             this id (only items of responses stored here, with store: true, can be referenced)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_item_ids_name_their_response() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            response_of(&format!("fc_{hex}_2")),
            Some(format!("resp_{hex}"))
        );
        assert_eq!(
            response_of(&format!("msg_{hex}_0")),
            Some(format!("resp_{hex}"))
        );
        for bad in ["", "fc", "fc_x", "call_abc_1", &format!("fc_{hex}_x")] {
            assert_eq!(response_of(bad), None, "{bad}");
        }
    }
}
