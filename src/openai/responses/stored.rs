//! The replies about stored responses: [`InputItemList`] (`GET
//! /v1/responses/{id}/input_items`) and [`DeletedResponse`] (`DELETE /v1/responses/{id}`).

use serde::{Deserialize, Serialize};

use super::request::InputItem;

/// The page of `GET /v1/responses/{id}/input_items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputItemList {
    /// `"list"`.
    pub object: String,
    /// The items of the page.
    pub data: Vec<InputItem>,
    /// Id of the first item of the page.
    pub first_id: Option<String>,
    /// Id of the last item of the page.
    pub last_id: Option<String>,
    /// Whether more items follow.
    pub has_more: bool,
}

/// The reply of `DELETE /v1/responses/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedResponse {
    /// The id.
    pub id: String,
    /// `"response"`.
    pub object: String,
    /// `true`.
    pub deleted: bool,
}
