//! Packet ids of Minecraft 26.1 (protocol 775) for the play and configuration states.
//!
//! Generated once from the packet order azalea-protocol declares; the test at the bottom checks
//! every constant against azalea's own decoder, so a wrong id cannot slip in. The proxy routes raw
//! frames by these ids and decodes only the few it must inspect.

/// Ids of the play state.
pub mod game {
    /// Clientbound packets.
    pub mod clientbound {
        pub const BUNDLE_DELIMITER: i32 = 0x0;
        pub const ADD_ENTITY: i32 = 0x1;
        pub const ANIMATE: i32 = 0x2;
        pub const AWARD_STATS: i32 = 0x3;
        pub const BLOCK_CHANGED_ACK: i32 = 0x4;
        pub const BLOCK_DESTRUCTION: i32 = 0x5;
        pub const BLOCK_ENTITY_DATA: i32 = 0x6;
        pub const BLOCK_EVENT: i32 = 0x7;
        pub const BLOCK_UPDATE: i32 = 0x8;
        pub const BOSS_EVENT: i32 = 0x9;
        pub const CHANGE_DIFFICULTY: i32 = 0xa;
        pub const CHUNK_BATCH_FINISHED: i32 = 0xb;
        pub const CHUNK_BATCH_START: i32 = 0xc;
        pub const CHUNKS_BIOMES: i32 = 0xd;
        pub const CLEAR_TITLES: i32 = 0xe;
        pub const COMMAND_SUGGESTIONS: i32 = 0xf;
        pub const COMMANDS: i32 = 0x10;
        pub const CONTAINER_CLOSE: i32 = 0x11;
        pub const CONTAINER_SET_CONTENT: i32 = 0x12;
        pub const CONTAINER_SET_DATA: i32 = 0x13;
        pub const CONTAINER_SET_SLOT: i32 = 0x14;
        pub const COOKIE_REQUEST: i32 = 0x15;
        pub const COOLDOWN: i32 = 0x16;
        pub const CUSTOM_CHAT_COMPLETIONS: i32 = 0x17;
        pub const CUSTOM_PAYLOAD: i32 = 0x18;
        pub const DAMAGE_EVENT: i32 = 0x19;
        pub const DEBUG_BLOCK_VALUE: i32 = 0x1a;
        pub const DEBUG_CHUNK_VALUE: i32 = 0x1b;
        pub const DEBUG_ENTITY_VALUE: i32 = 0x1c;
        pub const DEBUG_EVENT: i32 = 0x1d;
        pub const DEBUG_SAMPLE: i32 = 0x1e;
        pub const DELETE_CHAT: i32 = 0x1f;
        pub const DISCONNECT: i32 = 0x20;
        pub const DISGUISED_CHAT: i32 = 0x21;
        pub const ENTITY_EVENT: i32 = 0x22;
        pub const ENTITY_POSITION_SYNC: i32 = 0x23;
        pub const EXPLODE: i32 = 0x24;
        pub const FORGET_LEVEL_CHUNK: i32 = 0x25;
        pub const GAME_EVENT: i32 = 0x26;
        pub const GAME_RULE_VALUES: i32 = 0x27;
        pub const GAME_TEST_HIGHLIGHT_POS: i32 = 0x28;
        pub const MOUNT_SCREEN_OPEN: i32 = 0x29;
        pub const HURT_ANIMATION: i32 = 0x2a;
        pub const INITIALIZE_BORDER: i32 = 0x2b;
        pub const KEEP_ALIVE: i32 = 0x2c;
        pub const LEVEL_CHUNK_WITH_LIGHT: i32 = 0x2d;
        pub const LEVEL_EVENT: i32 = 0x2e;
        pub const LEVEL_PARTICLES: i32 = 0x2f;
        pub const LIGHT_UPDATE: i32 = 0x30;
        pub const LOGIN: i32 = 0x31;
        pub const LOW_DISK_SPACE_WARNING: i32 = 0x32;
        pub const MAP_ITEM_DATA: i32 = 0x33;
        pub const MERCHANT_OFFERS: i32 = 0x34;
        pub const MOVE_ENTITY_POS: i32 = 0x35;
        pub const MOVE_ENTITY_POS_ROT: i32 = 0x36;
        pub const MOVE_MINECART_ALONG_TRACK: i32 = 0x37;
        pub const MOVE_ENTITY_ROT: i32 = 0x38;
        pub const MOVE_VEHICLE: i32 = 0x39;
        pub const OPEN_BOOK: i32 = 0x3a;
        pub const OPEN_SCREEN: i32 = 0x3b;
        pub const OPEN_SIGN_EDITOR: i32 = 0x3c;
        pub const PING: i32 = 0x3d;
        pub const PONG_RESPONSE: i32 = 0x3e;
        pub const PLACE_GHOST_RECIPE: i32 = 0x3f;
        pub const PLAYER_ABILITIES: i32 = 0x40;
        pub const PLAYER_CHAT: i32 = 0x41;
        pub const PLAYER_COMBAT_END: i32 = 0x42;
        pub const PLAYER_COMBAT_ENTER: i32 = 0x43;
        pub const PLAYER_COMBAT_KILL: i32 = 0x44;
        pub const PLAYER_INFO_REMOVE: i32 = 0x45;
        pub const PLAYER_INFO_UPDATE: i32 = 0x46;
        pub const PLAYER_LOOK_AT: i32 = 0x47;
        pub const PLAYER_POSITION: i32 = 0x48;
        pub const PLAYER_ROTATION: i32 = 0x49;
        pub const RECIPE_BOOK_ADD: i32 = 0x4a;
        pub const RECIPE_BOOK_REMOVE: i32 = 0x4b;
        pub const RECIPE_BOOK_SETTINGS: i32 = 0x4c;
        pub const REMOVE_ENTITIES: i32 = 0x4d;
        pub const REMOVE_MOB_EFFECT: i32 = 0x4e;
        pub const RESET_SCORE: i32 = 0x4f;
        pub const RESOURCE_PACK_POP: i32 = 0x50;
        pub const RESOURCE_PACK_PUSH: i32 = 0x51;
        pub const RESPAWN: i32 = 0x52;
        pub const ROTATE_HEAD: i32 = 0x53;
        pub const SECTION_BLOCKS_UPDATE: i32 = 0x54;
        pub const SELECT_ADVANCEMENTS_TAB: i32 = 0x55;
        pub const SERVER_DATA: i32 = 0x56;
        pub const SET_ACTION_BAR_TEXT: i32 = 0x57;
        pub const SET_BORDER_CENTER: i32 = 0x58;
        pub const SET_BORDER_LERP_SIZE: i32 = 0x59;
        pub const SET_BORDER_SIZE: i32 = 0x5a;
        pub const SET_BORDER_WARNING_DELAY: i32 = 0x5b;
        pub const SET_BORDER_WARNING_DISTANCE: i32 = 0x5c;
        pub const SET_CAMERA: i32 = 0x5d;
        pub const SET_CHUNK_CACHE_CENTER: i32 = 0x5e;
        pub const SET_CHUNK_CACHE_RADIUS: i32 = 0x5f;
        pub const SET_CURSOR_ITEM: i32 = 0x60;
        pub const SET_DEFAULT_SPAWN_POSITION: i32 = 0x61;
        pub const SET_DISPLAY_OBJECTIVE: i32 = 0x62;
        pub const SET_ENTITY_DATA: i32 = 0x63;
        pub const SET_ENTITY_LINK: i32 = 0x64;
        pub const SET_ENTITY_MOTION: i32 = 0x65;
        pub const SET_EQUIPMENT: i32 = 0x66;
        pub const SET_EXPERIENCE: i32 = 0x67;
        pub const SET_HEALTH: i32 = 0x68;
        pub const SET_HELD_SLOT: i32 = 0x69;
        pub const SET_OBJECTIVE: i32 = 0x6a;
        pub const SET_PASSENGERS: i32 = 0x6b;
        pub const SET_PLAYER_INVENTORY: i32 = 0x6c;
        pub const SET_PLAYER_TEAM: i32 = 0x6d;
        pub const SET_SCORE: i32 = 0x6e;
        pub const SET_SIMULATION_DISTANCE: i32 = 0x6f;
        pub const SET_SUBTITLE_TEXT: i32 = 0x70;
        pub const SET_TIME: i32 = 0x71;
        pub const SET_TITLE_TEXT: i32 = 0x72;
        pub const SET_TITLES_ANIMATION: i32 = 0x73;
        pub const SOUND_ENTITY: i32 = 0x74;
        pub const SOUND: i32 = 0x75;
        pub const START_CONFIGURATION: i32 = 0x76;
        pub const STOP_SOUND: i32 = 0x77;
        pub const STORE_COOKIE: i32 = 0x78;
        pub const SYSTEM_CHAT: i32 = 0x79;
        pub const TAB_LIST: i32 = 0x7a;
        pub const TAG_QUERY: i32 = 0x7b;
        pub const TAKE_ITEM_ENTITY: i32 = 0x7c;
        pub const TELEPORT_ENTITY: i32 = 0x7d;
        pub const TEST_INSTANCE_BLOCK_STATUS: i32 = 0x7e;
        pub const TICKING_STATE: i32 = 0x7f;
        pub const TICKING_STEP: i32 = 0x80;
        pub const TRANSFER: i32 = 0x81;
        pub const UPDATE_ADVANCEMENTS: i32 = 0x82;
        pub const UPDATE_ATTRIBUTES: i32 = 0x83;
        pub const UPDATE_MOB_EFFECT: i32 = 0x84;
        pub const UPDATE_RECIPES: i32 = 0x85;
        pub const UPDATE_TAGS: i32 = 0x86;
        pub const PROJECTILE_POWER: i32 = 0x87;
        pub const CUSTOM_REPORT_DETAILS: i32 = 0x88;
        pub const SERVER_LINKS: i32 = 0x89;
        pub const WAYPOINT: i32 = 0x8a;
        pub const CLEAR_DIALOG: i32 = 0x8b;
        pub const SHOW_DIALOG: i32 = 0x8c;

        /// Every id with azalea's name for it, for checks and diagnostics.
        pub const ALL: &[(i32, &str)] = &[
            (BUNDLE_DELIMITER, "bundle_delimiter"),
            (ADD_ENTITY, "add_entity"),
            (ANIMATE, "animate"),
            (AWARD_STATS, "award_stats"),
            (BLOCK_CHANGED_ACK, "block_changed_ack"),
            (BLOCK_DESTRUCTION, "block_destruction"),
            (BLOCK_ENTITY_DATA, "block_entity_data"),
            (BLOCK_EVENT, "block_event"),
            (BLOCK_UPDATE, "block_update"),
            (BOSS_EVENT, "boss_event"),
            (CHANGE_DIFFICULTY, "change_difficulty"),
            (CHUNK_BATCH_FINISHED, "chunk_batch_finished"),
            (CHUNK_BATCH_START, "chunk_batch_start"),
            (CHUNKS_BIOMES, "chunks_biomes"),
            (CLEAR_TITLES, "clear_titles"),
            (COMMAND_SUGGESTIONS, "command_suggestions"),
            (COMMANDS, "commands"),
            (CONTAINER_CLOSE, "container_close"),
            (CONTAINER_SET_CONTENT, "container_set_content"),
            (CONTAINER_SET_DATA, "container_set_data"),
            (CONTAINER_SET_SLOT, "container_set_slot"),
            (COOKIE_REQUEST, "cookie_request"),
            (COOLDOWN, "cooldown"),
            (CUSTOM_CHAT_COMPLETIONS, "custom_chat_completions"),
            (CUSTOM_PAYLOAD, "custom_payload"),
            (DAMAGE_EVENT, "damage_event"),
            (DEBUG_BLOCK_VALUE, "debug_block_value"),
            (DEBUG_CHUNK_VALUE, "debug_chunk_value"),
            (DEBUG_ENTITY_VALUE, "debug_entity_value"),
            (DEBUG_EVENT, "debug_event"),
            (DEBUG_SAMPLE, "debug_sample"),
            (DELETE_CHAT, "delete_chat"),
            (DISCONNECT, "disconnect"),
            (DISGUISED_CHAT, "disguised_chat"),
            (ENTITY_EVENT, "entity_event"),
            (ENTITY_POSITION_SYNC, "entity_position_sync"),
            (EXPLODE, "explode"),
            (FORGET_LEVEL_CHUNK, "forget_level_chunk"),
            (GAME_EVENT, "game_event"),
            (GAME_RULE_VALUES, "game_rule_values"),
            (GAME_TEST_HIGHLIGHT_POS, "game_test_highlight_pos"),
            (MOUNT_SCREEN_OPEN, "mount_screen_open"),
            (HURT_ANIMATION, "hurt_animation"),
            (INITIALIZE_BORDER, "initialize_border"),
            (KEEP_ALIVE, "keep_alive"),
            (LEVEL_CHUNK_WITH_LIGHT, "level_chunk_with_light"),
            (LEVEL_EVENT, "level_event"),
            (LEVEL_PARTICLES, "level_particles"),
            (LIGHT_UPDATE, "light_update"),
            (LOGIN, "login"),
            (LOW_DISK_SPACE_WARNING, "low_disk_space_warning"),
            (MAP_ITEM_DATA, "map_item_data"),
            (MERCHANT_OFFERS, "merchant_offers"),
            (MOVE_ENTITY_POS, "move_entity_pos"),
            (MOVE_ENTITY_POS_ROT, "move_entity_pos_rot"),
            (MOVE_MINECART_ALONG_TRACK, "move_minecart_along_track"),
            (MOVE_ENTITY_ROT, "move_entity_rot"),
            (MOVE_VEHICLE, "move_vehicle"),
            (OPEN_BOOK, "open_book"),
            (OPEN_SCREEN, "open_screen"),
            (OPEN_SIGN_EDITOR, "open_sign_editor"),
            (PING, "ping"),
            (PONG_RESPONSE, "pong_response"),
            (PLACE_GHOST_RECIPE, "place_ghost_recipe"),
            (PLAYER_ABILITIES, "player_abilities"),
            (PLAYER_CHAT, "player_chat"),
            (PLAYER_COMBAT_END, "player_combat_end"),
            (PLAYER_COMBAT_ENTER, "player_combat_enter"),
            (PLAYER_COMBAT_KILL, "player_combat_kill"),
            (PLAYER_INFO_REMOVE, "player_info_remove"),
            (PLAYER_INFO_UPDATE, "player_info_update"),
            (PLAYER_LOOK_AT, "player_look_at"),
            (PLAYER_POSITION, "player_position"),
            (PLAYER_ROTATION, "player_rotation"),
            (RECIPE_BOOK_ADD, "recipe_book_add"),
            (RECIPE_BOOK_REMOVE, "recipe_book_remove"),
            (RECIPE_BOOK_SETTINGS, "recipe_book_settings"),
            (REMOVE_ENTITIES, "remove_entities"),
            (REMOVE_MOB_EFFECT, "remove_mob_effect"),
            (RESET_SCORE, "reset_score"),
            (RESOURCE_PACK_POP, "resource_pack_pop"),
            (RESOURCE_PACK_PUSH, "resource_pack_push"),
            (RESPAWN, "respawn"),
            (ROTATE_HEAD, "rotate_head"),
            (SECTION_BLOCKS_UPDATE, "section_blocks_update"),
            (SELECT_ADVANCEMENTS_TAB, "select_advancements_tab"),
            (SERVER_DATA, "server_data"),
            (SET_ACTION_BAR_TEXT, "set_action_bar_text"),
            (SET_BORDER_CENTER, "set_border_center"),
            (SET_BORDER_LERP_SIZE, "set_border_lerp_size"),
            (SET_BORDER_SIZE, "set_border_size"),
            (SET_BORDER_WARNING_DELAY, "set_border_warning_delay"),
            (SET_BORDER_WARNING_DISTANCE, "set_border_warning_distance"),
            (SET_CAMERA, "set_camera"),
            (SET_CHUNK_CACHE_CENTER, "set_chunk_cache_center"),
            (SET_CHUNK_CACHE_RADIUS, "set_chunk_cache_radius"),
            (SET_CURSOR_ITEM, "set_cursor_item"),
            (SET_DEFAULT_SPAWN_POSITION, "set_default_spawn_position"),
            (SET_DISPLAY_OBJECTIVE, "set_display_objective"),
            (SET_ENTITY_DATA, "set_entity_data"),
            (SET_ENTITY_LINK, "set_entity_link"),
            (SET_ENTITY_MOTION, "set_entity_motion"),
            (SET_EQUIPMENT, "set_equipment"),
            (SET_EXPERIENCE, "set_experience"),
            (SET_HEALTH, "set_health"),
            (SET_HELD_SLOT, "set_held_slot"),
            (SET_OBJECTIVE, "set_objective"),
            (SET_PASSENGERS, "set_passengers"),
            (SET_PLAYER_INVENTORY, "set_player_inventory"),
            (SET_PLAYER_TEAM, "set_player_team"),
            (SET_SCORE, "set_score"),
            (SET_SIMULATION_DISTANCE, "set_simulation_distance"),
            (SET_SUBTITLE_TEXT, "set_subtitle_text"),
            (SET_TIME, "set_time"),
            (SET_TITLE_TEXT, "set_title_text"),
            (SET_TITLES_ANIMATION, "set_titles_animation"),
            (SOUND_ENTITY, "sound_entity"),
            (SOUND, "sound"),
            (START_CONFIGURATION, "start_configuration"),
            (STOP_SOUND, "stop_sound"),
            (STORE_COOKIE, "store_cookie"),
            (SYSTEM_CHAT, "system_chat"),
            (TAB_LIST, "tab_list"),
            (TAG_QUERY, "tag_query"),
            (TAKE_ITEM_ENTITY, "take_item_entity"),
            (TELEPORT_ENTITY, "teleport_entity"),
            (TEST_INSTANCE_BLOCK_STATUS, "test_instance_block_status"),
            (TICKING_STATE, "ticking_state"),
            (TICKING_STEP, "ticking_step"),
            (TRANSFER, "transfer"),
            (UPDATE_ADVANCEMENTS, "update_advancements"),
            (UPDATE_ATTRIBUTES, "update_attributes"),
            (UPDATE_MOB_EFFECT, "update_mob_effect"),
            (UPDATE_RECIPES, "update_recipes"),
            (UPDATE_TAGS, "update_tags"),
            (PROJECTILE_POWER, "projectile_power"),
            (CUSTOM_REPORT_DETAILS, "custom_report_details"),
            (SERVER_LINKS, "server_links"),
            (WAYPOINT, "waypoint"),
            (CLEAR_DIALOG, "clear_dialog"),
            (SHOW_DIALOG, "show_dialog"),
        ];
    }
    /// Serverbound packets.
    pub mod serverbound {
        pub const ACCEPT_TELEPORTATION: i32 = 0x0;
        pub const ATTACK: i32 = 0x1;
        pub const BLOCK_ENTITY_TAG_QUERY: i32 = 0x2;
        pub const BUNDLE_ITEM_SELECTED: i32 = 0x3;
        pub const CHANGE_DIFFICULTY: i32 = 0x4;
        pub const CHANGE_GAME_MODE: i32 = 0x5;
        pub const CHAT_ACK: i32 = 0x6;
        pub const CHAT_COMMAND: i32 = 0x7;
        pub const CHAT_COMMAND_SIGNED: i32 = 0x8;
        pub const CHAT: i32 = 0x9;
        pub const CHAT_SESSION_UPDATE: i32 = 0xa;
        pub const CHUNK_BATCH_RECEIVED: i32 = 0xb;
        pub const CLIENT_COMMAND: i32 = 0xc;
        pub const CLIENT_TICK_END: i32 = 0xd;
        pub const CLIENT_INFORMATION: i32 = 0xe;
        pub const COMMAND_SUGGESTION: i32 = 0xf;
        pub const CONFIGURATION_ACKNOWLEDGED: i32 = 0x10;
        pub const CONTAINER_BUTTON_CLICK: i32 = 0x11;
        pub const CONTAINER_CLICK: i32 = 0x12;
        pub const CONTAINER_CLOSE: i32 = 0x13;
        pub const CONTAINER_SLOT_STATE_CHANGED: i32 = 0x14;
        pub const COOKIE_RESPONSE: i32 = 0x15;
        pub const CUSTOM_PAYLOAD: i32 = 0x16;
        pub const DEBUG_SUBSCRIPTION_REQUEST: i32 = 0x17;
        pub const EDIT_BOOK: i32 = 0x18;
        pub const ENTITY_TAG_QUERY: i32 = 0x19;
        pub const INTERACT: i32 = 0x1a;
        pub const JIGSAW_GENERATE: i32 = 0x1b;
        pub const KEEP_ALIVE: i32 = 0x1c;
        pub const LOCK_DIFFICULTY: i32 = 0x1d;
        pub const MOVE_PLAYER_POS: i32 = 0x1e;
        pub const MOVE_PLAYER_POS_ROT: i32 = 0x1f;
        pub const MOVE_PLAYER_ROT: i32 = 0x20;
        pub const MOVE_PLAYER_STATUS_ONLY: i32 = 0x21;
        pub const MOVE_VEHICLE: i32 = 0x22;
        pub const PADDLE_BOAT: i32 = 0x23;
        pub const PICK_ITEM_FROM_BLOCK: i32 = 0x24;
        pub const PICK_ITEM_FROM_ENTITY: i32 = 0x25;
        pub const PING_REQUEST: i32 = 0x26;
        pub const PLACE_RECIPE: i32 = 0x27;
        pub const PLAYER_ABILITIES: i32 = 0x28;
        pub const PLAYER_ACTION: i32 = 0x29;
        pub const PLAYER_COMMAND: i32 = 0x2a;
        pub const PLAYER_INPUT: i32 = 0x2b;
        pub const PLAYER_LOADED: i32 = 0x2c;
        pub const PONG: i32 = 0x2d;
        pub const RECIPE_BOOK_CHANGE_SETTINGS: i32 = 0x2e;
        pub const RECIPE_BOOK_SEEN_RECIPE: i32 = 0x2f;
        pub const RENAME_ITEM: i32 = 0x30;
        pub const RESOURCE_PACK: i32 = 0x31;
        pub const SEEN_ADVANCEMENTS: i32 = 0x32;
        pub const SELECT_TRADE: i32 = 0x33;
        pub const SET_BEACON: i32 = 0x34;
        pub const SET_CARRIED_ITEM: i32 = 0x35;
        pub const SET_COMMAND_BLOCK: i32 = 0x36;
        pub const SET_COMMAND_MINECART: i32 = 0x37;
        pub const SET_CREATIVE_MODE_SLOT: i32 = 0x38;
        pub const SET_GAME_RULE: i32 = 0x39;
        pub const SET_JIGSAW_BLOCK: i32 = 0x3a;
        pub const SET_STRUCTURE_BLOCK: i32 = 0x3b;
        pub const SET_TEST_BLOCK: i32 = 0x3c;
        pub const SIGN_UPDATE: i32 = 0x3d;
        pub const SPECTATE_ENTITY: i32 = 0x3e;
        pub const SWING: i32 = 0x3f;
        pub const TELEPORT_TO_ENTITY: i32 = 0x40;
        pub const TEST_INSTANCE_BLOCK_ACTION: i32 = 0x41;
        pub const USE_ITEM_ON: i32 = 0x42;
        pub const USE_ITEM: i32 = 0x43;
        pub const CUSTOM_CLICK_ACTION: i32 = 0x44;

        /// Every id with azalea's name for it, for checks and diagnostics.
        pub const ALL: &[(i32, &str)] = &[
            (ACCEPT_TELEPORTATION, "accept_teleportation"),
            (ATTACK, "attack"),
            (BLOCK_ENTITY_TAG_QUERY, "block_entity_tag_query"),
            (BUNDLE_ITEM_SELECTED, "bundle_item_selected"),
            (CHANGE_DIFFICULTY, "change_difficulty"),
            (CHANGE_GAME_MODE, "change_game_mode"),
            (CHAT_ACK, "chat_ack"),
            (CHAT_COMMAND, "chat_command"),
            (CHAT_COMMAND_SIGNED, "chat_command_signed"),
            (CHAT, "chat"),
            (CHAT_SESSION_UPDATE, "chat_session_update"),
            (CHUNK_BATCH_RECEIVED, "chunk_batch_received"),
            (CLIENT_COMMAND, "client_command"),
            (CLIENT_TICK_END, "client_tick_end"),
            (CLIENT_INFORMATION, "client_information"),
            (COMMAND_SUGGESTION, "command_suggestion"),
            (CONFIGURATION_ACKNOWLEDGED, "configuration_acknowledged"),
            (CONTAINER_BUTTON_CLICK, "container_button_click"),
            (CONTAINER_CLICK, "container_click"),
            (CONTAINER_CLOSE, "container_close"),
            (CONTAINER_SLOT_STATE_CHANGED, "container_slot_state_changed"),
            (COOKIE_RESPONSE, "cookie_response"),
            (CUSTOM_PAYLOAD, "custom_payload"),
            (DEBUG_SUBSCRIPTION_REQUEST, "debug_subscription_request"),
            (EDIT_BOOK, "edit_book"),
            (ENTITY_TAG_QUERY, "entity_tag_query"),
            (INTERACT, "interact"),
            (JIGSAW_GENERATE, "jigsaw_generate"),
            (KEEP_ALIVE, "keep_alive"),
            (LOCK_DIFFICULTY, "lock_difficulty"),
            (MOVE_PLAYER_POS, "move_player_pos"),
            (MOVE_PLAYER_POS_ROT, "move_player_pos_rot"),
            (MOVE_PLAYER_ROT, "move_player_rot"),
            (MOVE_PLAYER_STATUS_ONLY, "move_player_status_only"),
            (MOVE_VEHICLE, "move_vehicle"),
            (PADDLE_BOAT, "paddle_boat"),
            (PICK_ITEM_FROM_BLOCK, "pick_item_from_block"),
            (PICK_ITEM_FROM_ENTITY, "pick_item_from_entity"),
            (PING_REQUEST, "ping_request"),
            (PLACE_RECIPE, "place_recipe"),
            (PLAYER_ABILITIES, "player_abilities"),
            (PLAYER_ACTION, "player_action"),
            (PLAYER_COMMAND, "player_command"),
            (PLAYER_INPUT, "player_input"),
            (PLAYER_LOADED, "player_loaded"),
            (PONG, "pong"),
            (RECIPE_BOOK_CHANGE_SETTINGS, "recipe_book_change_settings"),
            (RECIPE_BOOK_SEEN_RECIPE, "recipe_book_seen_recipe"),
            (RENAME_ITEM, "rename_item"),
            (RESOURCE_PACK, "resource_pack"),
            (SEEN_ADVANCEMENTS, "seen_advancements"),
            (SELECT_TRADE, "select_trade"),
            (SET_BEACON, "set_beacon"),
            (SET_CARRIED_ITEM, "set_carried_item"),
            (SET_COMMAND_BLOCK, "set_command_block"),
            (SET_COMMAND_MINECART, "set_command_minecart"),
            (SET_CREATIVE_MODE_SLOT, "set_creative_mode_slot"),
            (SET_GAME_RULE, "set_game_rule"),
            (SET_JIGSAW_BLOCK, "set_jigsaw_block"),
            (SET_STRUCTURE_BLOCK, "set_structure_block"),
            (SET_TEST_BLOCK, "set_test_block"),
            (SIGN_UPDATE, "sign_update"),
            (SPECTATE_ENTITY, "spectate_entity"),
            (SWING, "swing"),
            (TELEPORT_TO_ENTITY, "teleport_to_entity"),
            (TEST_INSTANCE_BLOCK_ACTION, "test_instance_block_action"),
            (USE_ITEM_ON, "use_item_on"),
            (USE_ITEM, "use_item"),
            (CUSTOM_CLICK_ACTION, "custom_click_action"),
        ];
    }
}
/// Ids of the configuration state.
pub mod config {
    /// Clientbound packets.
    pub mod clientbound {
        pub const COOKIE_REQUEST: i32 = 0x0;
        pub const CUSTOM_PAYLOAD: i32 = 0x1;
        pub const DISCONNECT: i32 = 0x2;
        pub const FINISH_CONFIGURATION: i32 = 0x3;
        pub const KEEP_ALIVE: i32 = 0x4;
        pub const PING: i32 = 0x5;
        pub const RESET_CHAT: i32 = 0x6;
        pub const REGISTRY_DATA: i32 = 0x7;
        pub const RESOURCE_PACK_POP: i32 = 0x8;
        pub const RESOURCE_PACK_PUSH: i32 = 0x9;
        pub const STORE_COOKIE: i32 = 0xa;
        pub const TRANSFER: i32 = 0xb;
        pub const UPDATE_ENABLED_FEATURES: i32 = 0xc;
        pub const UPDATE_TAGS: i32 = 0xd;
        pub const SELECT_KNOWN_PACKS: i32 = 0xe;
        pub const CUSTOM_REPORT_DETAILS: i32 = 0xf;
        pub const SERVER_LINKS: i32 = 0x10;
        pub const CLEAR_DIALOG: i32 = 0x11;
        pub const SHOW_DIALOG: i32 = 0x12;
        pub const CODE_OF_CONDUCT: i32 = 0x13;

        /// Every id with azalea's name for it, for checks and diagnostics.
        pub const ALL: &[(i32, &str)] = &[
            (COOKIE_REQUEST, "cookie_request"),
            (CUSTOM_PAYLOAD, "custom_payload"),
            (DISCONNECT, "disconnect"),
            (FINISH_CONFIGURATION, "finish_configuration"),
            (KEEP_ALIVE, "keep_alive"),
            (PING, "ping"),
            (RESET_CHAT, "reset_chat"),
            (REGISTRY_DATA, "registry_data"),
            (RESOURCE_PACK_POP, "resource_pack_pop"),
            (RESOURCE_PACK_PUSH, "resource_pack_push"),
            (STORE_COOKIE, "store_cookie"),
            (TRANSFER, "transfer"),
            (UPDATE_ENABLED_FEATURES, "update_enabled_features"),
            (UPDATE_TAGS, "update_tags"),
            (SELECT_KNOWN_PACKS, "select_known_packs"),
            (CUSTOM_REPORT_DETAILS, "custom_report_details"),
            (SERVER_LINKS, "server_links"),
            (CLEAR_DIALOG, "clear_dialog"),
            (SHOW_DIALOG, "show_dialog"),
            (CODE_OF_CONDUCT, "code_of_conduct"),
        ];
    }
    /// Serverbound packets.
    pub mod serverbound {
        pub const CLIENT_INFORMATION: i32 = 0x0;
        pub const COOKIE_RESPONSE: i32 = 0x1;
        pub const CUSTOM_PAYLOAD: i32 = 0x2;
        pub const FINISH_CONFIGURATION: i32 = 0x3;
        pub const KEEP_ALIVE: i32 = 0x4;
        pub const PONG: i32 = 0x5;
        pub const RESOURCE_PACK: i32 = 0x6;
        pub const SELECT_KNOWN_PACKS: i32 = 0x7;
        pub const CUSTOM_CLICK_ACTION: i32 = 0x8;
        pub const ACCEPT_CODE_OF_CONDUCT: i32 = 0x9;

        /// Every id with azalea's name for it, for checks and diagnostics.
        pub const ALL: &[(i32, &str)] = &[
            (CLIENT_INFORMATION, "client_information"),
            (COOKIE_RESPONSE, "cookie_response"),
            (CUSTOM_PAYLOAD, "custom_payload"),
            (FINISH_CONFIGURATION, "finish_configuration"),
            (KEEP_ALIVE, "keep_alive"),
            (PONG, "pong"),
            (RESOURCE_PACK, "resource_pack"),
            (SELECT_KNOWN_PACKS, "select_known_packs"),
            (CUSTOM_CLICK_ACTION, "custom_click_action"),
            (ACCEPT_CODE_OF_CONDUCT, "accept_code_of_conduct"),
        ];
    }
}

/// The name of a play-state packet id, for logs.
pub fn game_name(clientbound: bool, id: i32) -> &'static str {
    let table = if clientbound {
        game::clientbound::ALL
    } else {
        game::serverbound::ALL
    };
    usize::try_from(id)
        .ok()
        .and_then(|i| table.get(i))
        .map_or("unknown", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use azalea_protocol::{
        packets::{
            ProtocolPacket,
            config::{ClientboundConfigPacket, ServerboundConfigPacket},
            game::{ClientboundGamePacket, ServerboundGamePacket},
        },
        read::ReadPacketError,
    };

    /// Reading an id from an empty buffer either yields the (field-less) packet or fails naming
    /// it; either way azalea tells us which packet the id is.
    fn name_of<P: ProtocolPacket>(id: i32) -> String {
        match P::read(id as u32, &mut Cursor::new(&[][..])) {
            Ok(packet) => packet.name().to_owned(),
            Err(e) => match *e {
                ReadPacketError::Parse { packet_name, .. } => packet_name,
                ReadPacketError::LeftoverData { packet_name, .. } => packet_name,
                other => panic!("id {id}: {other}"),
            },
        }
    }

    fn check<P: ProtocolPacket>(table: &[(i32, &str)]) {
        for &(id, name) in table {
            let azalea = name_of::<P>(id);
            // azalea names packets either `name` or `ClientboundName`; compare loosely.
            let norm = |s: &str| s.replace('_', "").to_lowercase();
            assert!(
                norm(&azalea).ends_with(&norm(name)),
                "id {id:#x}: table says {name}, azalea says {azalea}"
            );
        }
        assert!(name_of_unknown::<P>(table.len() as i32));
    }

    fn name_of_unknown<P: ProtocolPacket>(id: i32) -> bool {
        matches!(
            P::read(id as u32, &mut Cursor::new(&[][..])).map_err(|e| *e),
            Err(ReadPacketError::UnknownPacketId { .. })
        )
    }

    #[test]
    fn ids_match_azalea() {
        check::<ClientboundGamePacket>(super::game::clientbound::ALL);
        check::<ServerboundGamePacket>(super::game::serverbound::ALL);
        check::<ClientboundConfigPacket>(super::config::clientbound::ALL);
        check::<ServerboundConfigPacket>(super::config::serverbound::ALL);
    }
}
