/// The OpenAPI 3.1 document of the gateway's whole HTTP API, served at `GET /openapi.json`.
/// Hand-maintained: a route added to the gateway is added here too (the API contract test,
/// `scripts/api-contract-test`, runs schemathesis against the running stack with it).
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Trading pipeline gateway",
    "version": "1.0.0",
    "description": "The HTTP API of the gateway (port 8000). Errors are always JSON {error, detail}. With API_TOKEN set, state-changing /api/* calls need Authorization: Bearer <token>; consensus and reads stay open."
  },
  "servers": [{"url": "http://127.0.0.1:8000"}],
  "tags": [{"name": "trading"}, {"name": "account"}, {"name": "models"}, {"name": "operator"}, {"name": "probes"}],
  "paths": {
    "/": {
      "get": {
        "operationId": "dashboard",
        "summary": "The operator's dashboard (HTML)",
        "tags": ["operator"],
        "responses": {"200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document",
        "tags": ["operator"],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/livez": {
      "get": {
        "operationId": "livez",
        "summary": "Liveness: the process answers",
        "tags": ["probes"],
        "responses": {
          "200": {
            "description": "OK",
            "content": {
              "application/json": {
                "schema": {"type": "object", "properties": {"alive": {"type": "boolean"}}, "required": ["alive"]}
              }
            }
          }
        }
      }
    },
    "/readyz": {
      "get": {
        "operationId": "readyz",
        "summary": "Readiness: broker bound and control state heard",
        "tags": ["probes"],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
          },
          "503": {
            "description": "Not ready; the failing checks are false",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
          }
        }
      }
    },
    "/health": {
      "get": {
        "operationId": "health",
        "summary": "Health, configuration, risk figures, workers and models",
        "tags": ["operator"],
        "parameters": [{"$ref": "#/components/parameters/Book"}],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus text exposition",
        "tags": ["operator"],
        "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/api/ai/consensus": {
      "post": {
        "operationId": "consensus",
        "summary": "Features, every model's vote, the risk gate",
        "tags": ["trading"],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConsensusInput"}}}
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConsensusOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/trade/execute": {
      "post": {
        "operationId": "execute",
        "summary": "Reserve, fill (paper or live), settle one order",
        "tags": ["trading"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExecuteInput"}}}
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExecuteOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "409": {"$ref": "#/components/responses/E409"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "423": {"$ref": "#/components/responses/E423"},
          "429": {"$ref": "#/components/responses/E429"},
          "502": {"$ref": "#/components/responses/E502"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/market/candles": {
      "post": {
        "operationId": "candles",
        "summary": "The market feed: candles for features and the mark price",
        "tags": ["trading"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CandlesInput"}}}
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CandlesOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "409": {"$ref": "#/components/responses/E409"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/positions": {
      "get": {
        "operationId": "positions",
        "summary": "The account and its positions, of the paper or the live book (by default the trading mode's); says which (book) and, for the live book, its expected balances and reconciliation",
        "tags": ["account"],
        "parameters": [{"$ref": "#/components/parameters/Book"}],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}
          },
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/orders": {
      "get": {
        "operationId": "orders",
        "summary": "The latest orders, newest first",
        "tags": ["account"],
        "parameters": [
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
          {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/OrderStatus"}}
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderList"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/orders/{clientOrderId}": {
      "get": {
        "operationId": "order",
        "summary": "One order",
        "tags": ["account"],
        "parameters": [
          {
            "name": "clientOrderId",
            "in": "path",
            "required": true,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,36}$"}
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}
          },
          "404": {"$ref": "#/components/responses/E404"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/equity": {
      "get": {
        "operationId": "equity",
        "summary": "Equity history: a point per fill and at least one a minute, oldest first",
        "tags": ["account"],
        "parameters": [
          {
            "name": "since",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807},
            "description": "Unix milliseconds (default 0)"
          },
          {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 2000},
            "description": "At most this many, the newest"
          }
        ],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EquityHistory"}}}
          },
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/preflight": {
      "get": {
        "operationId": "preflight",
        "summary": "The live-trading preflight checks",
        "tags": ["operator"],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Preflight"}}}
          }
        }
      }
    },
    "/api/models": {
      "get": {
        "operationId": "models",
        "summary": "Versions, canary routing and shadow agreement per model id",
        "tags": ["models"],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}
          }
        }
      }
    },
    "/api/models/{id}/canary": {
      "post": {
        "operationId": "modelCanary",
        "summary": "How the canary.<id> worker takes part",
        "tags": ["models"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/ModelId"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CanaryInput"}}}
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelEntry"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"}
        }
      }
    },
    "/api/models/{id}/promote": {
      "post": {
        "operationId": "modelPromote",
        "summary": "The canary votes instead of the incumbent",
        "tags": ["models"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/ModelId"}],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelEntry"}}}
          },
          "401": {"$ref": "#/components/responses/E401"},
          "409": {"$ref": "#/components/responses/E409"},
          "422": {"$ref": "#/components/responses/E422"}
        }
      }
    },
    "/api/models/{id}/rollback": {
      "post": {
        "operationId": "modelRollback",
        "summary": "Back to the incumbent",
        "tags": ["models"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/ModelId"}],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelEntry"}}}
          },
          "401": {"$ref": "#/components/responses/E401"},
          "422": {"$ref": "#/components/responses/E422"}
        }
      }
    },
    "/api/halt": {
      "post": {
        "operationId": "halt",
        "summary": "Halt trading now, broadcast to every worker",
        "description": "Broadcast on the control channel first, persisted by the risk worker after. 202 with persisted false: the halt is in force but the risk worker has not recorded it yet (the gateway holds it until it does).",
        "tags": ["operator"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}, {"$ref": "#/components/parameters/Operator"}],
        "requestBody": {"$ref": "#/components/requestBodies/Operator"},
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorOutput"}}}
          },
          "202": {
            "description": "Halted on the control channel; not yet recorded by the risk worker",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/resume": {
      "post": {
        "operationId": "resume",
        "summary": "Resume trading after a halt",
        "tags": ["operator"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}, {"$ref": "#/components/parameters/Operator"}],
        "requestBody": {"$ref": "#/components/requestBodies/Operator"},
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/risk/state": {
      "post": {
        "operationId": "risk_state",
        "summary": "Set the trading state: ACTIVE, REDUCING (only orders that reduce a position) or HALTED",
        "description": "Persisted by the risk worker and broadcast on the control channel; HALTED is broadcast first, like /api/halt (202 with persisted false until the risk worker records it). Leaving REDUCING restarts the drawdown peak.",
        "tags": ["operator"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}, {"$ref": "#/components/parameters/Operator"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StateInput"}}}
        },
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorOutput"}}}
          },
          "202": {
            "description": "Halted on the control channel; not yet recorded by the risk worker",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/locks": {
      "get": {
        "operationId": "locks",
        "summary": "The protection locks in force (cooldown, stoploss guard, low profit)",
        "tags": ["risk"],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}],
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LockList"}}}
          },
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/locks/{id}": {
      "delete": {
        "operationId": "unlock",
        "summary": "Delete a protection lock before it ends",
        "tags": ["operator"],
        "security": [{}, {"bearer": []}],
        "parameters": [
          {"$ref": "#/components/parameters/RequestId"},
          {"$ref": "#/components/parameters/Operator"},
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"},
            "description": "A lock id from GET /api/locks"
          }
        ],
        "responses": {
          "200": {
            "description": "Deleted; the locks still in force",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UnlockResult"}}}
          },
          "401": {"$ref": "#/components/responses/E401"},
          "404": {"$ref": "#/components/responses/E404"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/risk/reset": {
      "post": {
        "operationId": "risk_reset",
        "summary": "Clear the drawdown lock",
        "tags": ["operator"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}, {"$ref": "#/components/parameters/Operator"}],
        "requestBody": {"$ref": "#/components/requestBodies/Operator"},
        "responses": {
          "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorOutput"}}}
          },
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/live/adopt": {
      "post": {
        "operationId": "live_adopt",
        "summary": "Adopt the exchange's balances as the live book's (audited with who, why, before and after); lifts account_mismatch",
        "tags": ["operator"],
        "security": [{}, {"bearer": []}],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}, {"$ref": "#/components/parameters/Operator"}],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["reason"],
          "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}, "requestedBy": {"type": "string"}}}}}},
        "responses": {
          "200": {"description": "The live book after the adoption", "content": {"application/json": {"schema": {"type": "object"}}}},
          "400": {"$ref": "#/components/responses/E400"},
          "401": {"$ref": "#/components/responses/E401"},
          "409": {"$ref": "#/components/responses/E409"},
          "413": {"$ref": "#/components/responses/E413"},
          "422": {"$ref": "#/components/responses/E422"},
          "502": {"$ref": "#/components/responses/E502"},
          "503": {"$ref": "#/components/responses/E503"},
          "504": {"$ref": "#/components/responses/E504"}
        }
      }
    },
    "/api/live/foreign-trades": {
      "get": {
        "operationId": "live_foreign_trades",
        "summary": "Trades at the exchange (GET /api/v3/myTrades) that no order of ours explains, from the sweep of the last mismatch",
        "tags": ["account"],
        "responses": {
          "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "sweptAt": {"type": "integer"}, "symbols": {"type": "array", "items": {"type": "string"}},
            "trades": {"type": "array", "items": {"type": "object"}}, "problems": {"type": "object"}}}}}}
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {
          "error": {"type": "string"},
          "detail": {"type": "string"},
          "clientOrderId": {"type": "string", "description": "on every error of an execute: the order to query or retry with"}
        },
        "required": ["error", "detail"],
        "description": "Every error answer."
      },
      "Candle": {
        "type": "object",
        "properties": {
          "openTime": {"type": "integer", "minimum": 1, "description": "Unix milliseconds"},
          "open": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1000000000000.0,
            "description": "high >= low"
          },
          "high": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1000000000000.0,
            "description": "high >= low"
          },
          "low": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1000000000000.0,
            "description": "high >= low"
          },
          "close": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1000000000000.0,
            "description": "high >= low"
          },
          "volume": {"type": "number", "minimum": 0}
        },
        "required": ["openTime", "open", "high", "low", "close", "volume"]
      },
      "Features": {
        "type": "object",
        "properties": {
          "mom_20": {"type": "number", "minimum": -100, "maximum": 1000},
          "rv_5": {"type": "number", "minimum": 0, "maximum": 500},
          "rsi_14": {"type": "number", "minimum": 0, "maximum": 100}
        },
        "additionalProperties": false
      },
      "ConsensusInput": {
        "type": "object",
        "properties": {
          "symbol": {
            "type": "string",
            "minLength": 2,
            "maxLength": 20,
            "pattern": "^[A-Z0-9]{2,20}$",
            "description": "Upper-case letters and digits"
          },
          "features": {"$ref": "#/components/schemas/Features"},
          "candles": {"type": "array", "items": {"$ref": "#/components/schemas/Candle"}}
        },
        "required": ["symbol"]
      },
      "FeatureVector": {
        "type": "object",
        "properties": {"mom_20": {"type": "number"}, "rv_5": {"type": "number"}, "rsi_14": {"type": "number"}},
        "required": ["mom_20", "rv_5", "rsi_14"]
      },
      "ModelVote": {
        "type": "object",
        "properties": {
          "modelId": {"type": "string"},
          "version": {"type": "string"},
          "probabilityUp": {"type": "number"}
        },
        "required": ["modelId", "probabilityUp"]
      },
      "ConsensusOutput": {
        "type": "object",
        "properties": {
          "requestId": {"type": "string"},
          "symbol": {"type": "string"},
          "allow": {"type": "boolean"},
          "confidence": {"type": "number"},
          "side": {"type": "string", "enum": ["buy", "sell"]},
          "probabilityUp": {"type": "number"},
          "agreement": {"type": "number"},
          "threshold": {"type": ["number", "null"]},
          "votes": {"type": "array", "items": {"$ref": "#/components/schemas/ModelVote"}},
          "excluded": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {"modelId": {"type": "string"}, "reason": {"type": "string"}},
              "required": ["modelId", "reason"]
            }
          },
          "reasons": {"type": "array", "items": {"type": "string"}},
          "features": {"$ref": "#/components/schemas/FeatureVector"},
          "featureSource": {"type": "string"},
          "price": {"type": ["number", "null"]}
        },
        "required": [
          "requestId",
          "symbol",
          "allow",
          "confidence",
          "side",
          "probabilityUp",
          "agreement",
          "votes",
          "excluded",
          "reasons",
          "features",
          "featureSource"
        ]
      },
      "ExecuteInput": {
        "type": "object",
        "properties": {
          "symbol": {
            "type": "string",
            "minLength": 2,
            "maxLength": 20,
            "pattern": "^[A-Z0-9]{2,20}$",
            "description": "Upper-case letters and digits"
          },
          "side": {"type": "string", "enum": ["buy", "sell"]},
          "qtyUsd": {"type": "number", "minimum": 0.01, "maximum": 1000000000},
          "confidence": {"type": "number", "minimum": 0, "maximum": 1},
          "clientOrderId": {"type": "string", "minLength": 1, "maxLength": 36, "pattern": "^[A-Za-z0-9_-]{1,36}$"},
          "price": {"type": "number", "exclusiveMinimum": 0}
        },
        "required": ["symbol", "side", "qtyUsd", "confidence"]
      },
      "Fill": {
        "type": "object",
        "properties": {
          "price": {"type": "number"},
          "quantity": {"type": "number"},
          "notional": {"type": "number"},
          "fee": {"type": "number", "description": "USD: a paper fee, or a live commission paid in the quote asset"},
          "commissions": {
            "type": "object", "additionalProperties": {"type": "number", "minimum": 0},
            "description": "a live commission charged in another asset (BNB, the base asset), by asset, as the exchange charged it"
          },
          "dryRun": {"type": "boolean"},
          "filledAt": {"type": "integer"}
        },
        "required": ["price", "quantity", "notional", "fee", "dryRun"]
      },
      "ExecuteOutput": {
        "type": "object",
        "properties": {
          "requestId": {"type": "string"},
          "dryRun": {"type": "boolean"},
          "orderId": {"type": "string"},
          "clientOrderId": {"type": "string"},
          "status": {"$ref": "#/components/schemas/OrderStatus"},
          "duplicate": {"type": "boolean"},
          "mode": {"$ref": "#/components/schemas/TradingMode"},
          "symbol": {"type": "string"},
          "side": {"type": "string"},
          "qtyUsd": {"type": "number"},
          "confidence": {"type": "number"},
          "fill": {"type": ["object", "null"]},
          "rejectReason": {"type": ["string", "null"]},
          "account": {"type": ["object", "null"]}
        },
        "required": ["dryRun", "orderId", "clientOrderId", "status", "duplicate"]
      },
      "OrderStatus": {"type": "string", "enum": ["pending", "filled", "rejected"]},
      "TradingMode": {"type": "string", "enum": ["paper", "live"]},
      "OrderIntent": {
        "type": "object",
        "properties": {
          "clientOrderId": {"type": "string"},
          "symbol": {"type": "string"},
          "side": {"type": "string"},
          "qtyUsd": {"type": "number"},
          "confidence": {"type": "number"}
        },
        "required": ["clientOrderId", "symbol", "side", "qtyUsd"]
      },
      "Order": {
        "type": "object",
        "properties": {
          "intent": {"$ref": "#/components/schemas/OrderIntent"},
          "status": {"$ref": "#/components/schemas/OrderStatus"},
          "mode": {"$ref": "#/components/schemas/TradingMode"},
          "createdAt": {"type": "integer"},
          "terms": {"type": ["object", "null"]},
          "fill": {"oneOf": [{"$ref": "#/components/schemas/Fill"}, {"type": "null"}]},
          "rejectReason": {"type": ["string", "null"]}
        },
        "required": ["intent", "status", "mode", "createdAt"]
      },
      "OrderList": {
        "type": "object",
        "properties": {"orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}},
        "required": ["orders"]
      },
      "Position": {
        "type": "object",
        "properties": {
          "symbol": {"type": "string"},
          "quantity": {"type": "number"},
          "averagePrice": {"type": "number"},
          "markPrice": {"type": ["number", "null"]},
          "realizedPnl": {"type": "number"},
          "unrealizedPnl": {"type": "number"}
        },
        "required": ["symbol", "quantity"]
      },
      "Account": {
        "type": "object",
        "properties": {
          "cash": {"type": "number"},
          "equity": {"type": "number"},
          "peakEquity": {"type": "number"},
          "drawdown": {"type": "number"},
          "grossExposure": {"type": "number"},
          "dailyLoss": {"type": "number"},
          "realizedPnl": {"type": "number"},
          "unrealizedPnl": {"type": "number"},
          "pendingOrders": {"type": "integer"},
          "positions": {"type": "array", "items": {"$ref": "#/components/schemas/Position"}},
          "feesOwed": {
            "type": "object", "additionalProperties": {"type": "number", "minimum": 0},
            "description": "commissions in an asset with no USD price yet, by asset: owed, not yet taken from cash"
          }
        },
        "required": ["cash", "equity", "peakEquity", "drawdown", "positions"]
      },
      "CandlesInput": {
        "type": "object",
        "properties": {
          "symbol": {
            "type": "string",
            "minLength": 2,
            "maxLength": 20,
            "pattern": "^[A-Z0-9]{2,20}$",
            "description": "Upper-case letters and digits"
          },
          "candles": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Candle"},
            "minItems": 1,
            "maxItems": 5000
          }
        },
        "required": ["symbol", "candles"]
      },
      "CandlesOutput": {
        "type": "object",
        "properties": {
          "requestId": {"type": "string"},
          "symbol": {"type": "string"},
          "added": {"type": "integer"},
          "held": {"type": "integer"},
          "price": {"type": "number"},
          "drawdown": {"type": "number"},
          "riskLocked": {"type": "boolean"}
        },
        "required": ["symbol", "added", "held", "price", "drawdown", "riskLocked"]
      },
      "OperatorInput": {
        "type": "object",
        "properties": {
          "reason": {"type": "string", "maxLength": 500},
          "requestedBy": {"type": "string", "maxLength": 80}
        }
      },
      "OperatorOutput": {
        "type": "object",
        "properties": {
          "requestId": {"type": "string"},
          "ok": {"type": "boolean"},
          "action": {"type": "string"},
          "halted": {"type": "boolean"},
          "haltReason": {"type": ["string", "null"]},
          "riskLocked": {"type": "boolean"},
          "lockReason": {"type": ["string", "null"]},
          "drawdown": {"type": ["number", "null"], "description": "absent while a halt is not yet recorded by the risk worker"},
          "persisted": {"type": "boolean", "description": "false (with 202) when a halt is in force on the control channel but the risk worker has not recorded it yet"},
          "tradingState": {"$ref": "#/components/schemas/TradingState"},
          "stateReason": {"type": ["string", "null"]}
        },
        "required": ["ok", "action", "halted", "riskLocked", "persisted"]
      },
      "TradingState": {"type": "string", "enum": ["ACTIVE", "REDUCING", "HALTED"]},
      "StateInput": {
        "type": "object",
        "properties": {
          "state": {"type": "string", "enum": ["ACTIVE", "REDUCING", "HALTED"], "description": "case-insensitive"},
          "reason": {"type": ["string", "null"], "maxLength": 500},
          "requestedBy": {"type": ["string", "null"], "maxLength": 80}
        },
        "required": ["state"]
      },
      "ProtectionLock": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "symbol": {"type": ["string", "null"], "description": "absent or null: every symbol"},
          "rule": {"type": "string", "enum": ["cooldown", "stoploss_guard", "low_profit"]},
          "reason": {"type": "string"},
          "since": {"type": "integer", "description": "Unix milliseconds"},
          "until": {"type": "integer", "description": "Unix milliseconds; the lock ends on its own then"}
        },
        "required": ["id", "rule", "reason", "since", "until"]
      },
      "LockList": {
        "type": "object",
        "properties": {"locks": {"type": "array", "items": {"$ref": "#/components/schemas/ProtectionLock"}}},
        "required": ["locks"]
      },
      "UnlockResult": {
        "type": "object",
        "properties": {
          "removed": {"$ref": "#/components/schemas/ProtectionLock"},
          "locks": {"type": "array", "items": {"$ref": "#/components/schemas/ProtectionLock"}}
        },
        "required": ["removed", "locks"]
      },
      "CanaryRouting": {
        "type": "object",
        "properties": {
          "mode": {"type": "string", "enum": ["off", "shadow", "split", "promoted"]},
          "share": {"type": "number"}
        },
        "required": ["mode", "share"]
      },
      "ModelEntry": {
        "type": "object",
        "properties": {
          "modelId": {"type": "string"},
          "incumbentVersion": {"type": ["string", "null"]},
          "canaryVersion": {"type": ["string", "null"]},
          "canary": {"$ref": "#/components/schemas/CanaryRouting"},
          "shadowCompared": {"type": "integer"},
          "shadowAgreed": {"type": "integer"},
          "agreement": {"type": ["number", "null"]}
        },
        "required": ["modelId", "canary", "shadowCompared", "shadowAgreed"]
      },
      "ModelList": {
        "type": "object",
        "properties": {"models": {"type": "array", "items": {"$ref": "#/components/schemas/ModelEntry"}}},
        "required": ["models"]
      },
      "CanaryInput": {
        "type": "object",
        "properties": {
          "mode": {"type": "string", "enum": ["off", "shadow", "split"]},
          "share": {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "split: default 0.1"}
        },
        "required": ["mode"]
      },
      "ControlState": {
        "type": "object",
        "properties": {
          "seq": {"type": "integer"},
          "halted": {"type": "boolean"},
          "haltReason": {"type": ["string", "null"]},
          "riskLocked": {"type": "boolean"},
          "lockReason": {"type": ["string", "null"]},
          "tradingMode": {"$ref": "#/components/schemas/TradingMode"},
          "ts": {"type": "integer"},
          "tradingState": {"$ref": "#/components/schemas/TradingState"},
          "stateReason": {"type": ["string", "null"]}
        },
        "required": ["seq", "halted", "riskLocked", "tradingMode", "ts"]
      },
      "Health": {
        "type": "object",
        "properties": {
          "ok": {"type": "boolean"},
          "service": {"type": "string"},
          "tradingMode": {"$ref": "#/components/schemas/TradingMode"},
          "problems": {"type": "array", "items": {"type": "string"}},
          "uptimeSeconds": {"type": "integer"},
          "config": {"type": "object"},
          "risk": {"type": "object"},
          "control": {"oneOf": [{"$ref": "#/components/schemas/ControlState"}, {"type": "null"}]},
          "workers": {"type": "object", "additionalProperties": {"type": "integer"}},
          "models": {"type": "array", "items": {"type": "string"}},
          "modelVersions": {"type": "array", "items": {"$ref": "#/components/schemas/ModelEntry"}}
        },
        "required": ["ok", "service", "tradingMode", "problems", "config", "risk", "workers", "models", "modelVersions"]
      },
      "Preflight": {
        "type": "object",
        "properties": {
          "ok": {"type": "boolean"},
          "tradingMode": {"$ref": "#/components/schemas/TradingMode"},
          "checks": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"}, "detail": {"type": "string"}},
              "required": ["name", "ok", "detail"]
            }
          }
        },
        "required": ["ok", "tradingMode", "checks"]
      },
      "EquityPoint": {
        "type": "object",
        "properties": {
          "ts": {"type": "integer"},
          "equity": {"type": "number"},
          "cash": {"type": "number"},
          "peakEquity": {"type": "number"},
          "drawdown": {"type": "number"}
        },
        "required": ["ts", "equity", "cash", "peakEquity", "drawdown"]
      },
      "EquityHistory": {
        "type": "object",
        "properties": {"points": {"type": "array", "items": {"$ref": "#/components/schemas/EquityPoint"}}},
        "required": ["points"]
      },
      "Readiness": {
        "type": "object",
        "properties": {
          "ready": {"type": "boolean"},
          "checks": {"type": "object", "additionalProperties": {"type": "boolean"}}
        },
        "required": ["ready", "checks"]
      }
    },
    "responses": {
      "E400": {
        "description": "Malformed JSON or wrong types",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E401": {
        "description": "Missing or wrong bearer token (with API_TOKEN set)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E404": {
        "description": "Unknown route or order",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E405": {
        "description": "Method not allowed",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E409": {
        "description": "Conflict",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E413": {
        "description": "Body over MAX_BODY_BYTES",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E422": {
        "description": "Values out of range or a rule refusal",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E423": {
        "description": "Risk locked, halted, reducing only, a protection lock (symbol_locked), or live preflight failed",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E429": {
        "description": "Rate limited",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E502": {
        "description": "A worker's answer did not fit the request (risk_reply_mismatch, execution_reply_mismatch) or could not be read",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E503": {
        "description": "No live worker for a service it needs",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "E504": {
        "description": "Deadline exceeded, or order state unknown",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      }
    },
    "parameters": {
      "Book": {
        "name": "book",
        "in": "query",
        "description": "which book: paper or live (by default the trading mode's); anything else is 422 invalid_book",
        "schema": {"type": "string", "enum": ["paper", "live"]}
      },
      "RequestId": {
        "name": "X-Request-Id",
        "in": "header",
        "required": false,
        "schema": {"type": "string"},
        "description": "Echoed in the answer when it is 1 to 64 safe characters; generated otherwise"
      },
      "ModelId": {
        "name": "id",
        "in": "path",
        "required": true,
        "schema": {"type": "string", "pattern": "^[!-~]{1,64}$"},
        "description": "A model id (printable, no dots)"
      },
      "Operator": {
        "name": "X-Operator",
        "in": "header",
        "required": false,
        "schema": {"type": "string", "maxLength": 80},
        "description": "Who asks, when the body does not say"
      }
    },
    "requestBodies": {
      "Operator": {
        "required": false,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorInput"}}}
      }
    },
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}}
  }
}
"""#
}
