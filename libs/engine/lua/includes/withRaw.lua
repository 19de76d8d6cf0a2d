--[[
  withRaw(encodedObject, key, rawJson) -> the JSON object text with one more field whose value is JSON text
  taken as is (cjson would turn an empty array into {} and round numbers to 14 digits).
]]
local function withRaw(encoded, key, raw)
  if encoded == '{}' then return '{"' .. key .. '":' .. raw .. '}' end
  return string.sub(encoded, 1, -2) .. ',"' .. key .. '":' .. raw .. '}'
end
