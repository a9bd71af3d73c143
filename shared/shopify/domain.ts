/**
 * A shop's permanent domain, `my-shop.myshopify.com`: what Shopify's
 * `X-Shopify-Shop-Domain` header carries and what a route's `shopDomains`
 * and the Admin API secret name. Shopify writes it in lower case; the Admin
 * API secret is read whatever case it was typed in, and lower-cased on use.
 */
export const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;

export const SHOP_DOMAIN_EXAMPLE = 'my-shop.myshopify.com';
